// Unit tests of credential masking: passwords of well-formed and mistyped connection strings,
// `user:pass@host` in free text, the ordinary text that must survive, and deep masking of values.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ObjectId } from 'mongodb';
import { redactText, redactUri, redactValue, secretsOf, splitConnectionString } from '../../src/util/redact.ts';

/** Every part of `password` between its special characters, each long enough to be unmistakable. */
function fragments(password: string): string[] {
  return password.split(/[^A-Za-z0-9]+/).filter((part) => part.length >= 3);
}

function assertHidden(out: string, password: string, what: string): void {
  for (const part of [password, ...fragments(password)]) {
    assert.ok(!out.includes(part), `${what}: '${part}' of the password is in:\n${out}`);
  }
}

/** [connection string, its password]: every way of mistyping one that users have sent us. */
const MALFORMED: readonly (readonly [string, string])[] = [
  ['mongo://bob:Wrong5cheme@h/', 'Wrong5cheme'],
  ['mongodb:/bob:OneSlash9@h/', 'OneSlash9'],
  ['mongodb:bob:NoSlash7@h/', 'NoSlash7'],
  ['bob:NoScheme3@h', 'NoScheme3'],
  ['//bob:OnlySlashes4@h/db', 'OnlySlashes4'],
  ['mongodb://bob:Head1/Tail2@h/db', 'Head1/Tail2'],
  ['mongodb://bob:Head1@Tail2@h/', 'Head1@Tail2'],
  ['mongodb://bob:Head1@Mid2/Tail3@h/db', 'Head1@Mid2/Tail3'],
  ['mongodb://bob:Head1"Mid2\\Tail3@h/', 'Head1"Mid2\\Tail3'],
  ['mongodb://bob:Head1:Mid2?Tail3#End4@h/db', 'Head1:Mid2?Tail3#End4'],
  ['mongodb://bob:Head1@Mid2?Tail3@h/db', 'Head1@Mid2?Tail3'],
  ['mongodb://bob:Head1 Tail2@h/', 'Head1 Tail2'],
  ['mongodb+srv://bob:Srv1/Pass2@cluster0.example.net/shop?retryWrites=true', 'Srv1/Pass2'],
  ['  mongodb://bob:Spaced5@h/  ', 'Spaced5'],
  ['MONGODB://bob:Upper6@h/db', 'Upper6'],
];

void describe('secretsOf', () => {
  void it('finds the password of every malformed connection string', () => {
    for (const [uri, password] of MALFORMED) {
      assert.ok(secretsOf(uri).includes(password), `${uri}: ${JSON.stringify(secretsOf(uri))}`);
    }
  });

  void it('adds the percent-decoded, percent-encoded and JSON-escaped forms', () => {
    const secrets = secretsOf('mongodb://app:p%40ss%3Aw%22rd@db.example.com/app');
    for (const form of ['p%40ss%3Aw%22rd', 'p@ss:w"rd', 'p@ss:w\\"rd']) assert.ok(secrets.includes(form), form);
    assert.ok(secretsOf('mongodb://bob:pa"ss\\@h/').includes('pa\\"ss\\\\'), 'the JSON-escaped form of a raw " and \\');
    assert.ok(secretsOf('mongodb://bob:pa ss@h/').includes('pa%20ss'));
  });

  void it('finds secrets in the options: tlsCertificateKeyFilePassword and AWS_SESSION_TOKEN', () => {
    const uri = 'mongodb://h/db?tls=true&tlsCertificateKeyFilePassword=KeyPass1&authMechanismProperties=AWS_SESSION_TOKEN:Tok3n99,SERVICE_NAME:x';
    assert.deepEqual(secretsOf(uri).sort(), ['KeyPass1', 'Tok3n99']);
  });

  void it('finds nothing without a password, and skips secrets too short to mask on their own', () => {
    for (const uri of [undefined, '', 'mongodb://user@host/db', 'mongodb://host/db', 'mongodb://u:@h/', 'localhost:27017', 'mongodb://h/db?appName=a@b']) {
      assert.deepEqual(secretsOf(uri), [], String(uri));
    }
    assert.deepEqual(secretsOf('mongodb://u:pw@h/db'), []);
  });

  void it('takes the first @ of a well-formed URI whose options hold an @', () => {
    assert.deepEqual(secretsOf('mongodb://u:RightOne@h/db?appName=me@host'), ['RightOne']);
  });
});

void describe('splitConnectionString', () => {
  void it('ends the userinfo at the last @ when the password holds an unescaped @, / or ?', () => {
    assert.equal(splitConnectionString('mongodb://bob:p@ss/w@h/db').rest, 'h/db');
    assert.equal(splitConnectionString('mongodb://bob:pa/ss@h/db').rest, 'h/db');
    assert.equal(splitConnectionString('mongodb://bob:p@ss?x@h/db').rest, 'h/db');
    assert.equal(splitConnectionString('mongodb://u:pw@h/db?appName=a@b').rest, 'h/db?appName=a@b');
  });

  void it('keeps the scheme as written, and reads no scheme into `bob:`', () => {
    assert.deepEqual(splitConnectionString('mongodb:/bob:x@h'), { scheme: 'mongodb:/', userinfo: 'bob:x', user: 'bob', password: 'x', rest: 'h' });
    assert.deepEqual(splitConnectionString('bob:x@h'), { scheme: '', userinfo: 'bob:x', user: 'bob', password: 'x', rest: 'h' });
  });
});

void describe('redactUri', () => {
  void it('keeps the user and masks the password', () => {
    assert.equal(redactUri('mongodb://admin:s3cret@db.example.com:27017/app'), 'mongodb://admin:***@db.example.com:27017/app');
    assert.equal(redactUri('mongodb+srv://app:hunter2@cluster0.example.net/shop?retryWrites=true'), 'mongodb+srv://app:***@cluster0.example.net/shop?retryWrites=true');
    assert.equal(redactUri('mongodb://u:p%40ss%2Fw@h1,h2:27018/db?replicaSet=rs'), 'mongodb://u:***@h1,h2:27018/db?replicaSet=rs');
  });

  void it('masks the whole password of every malformed connection string, and nothing else', () => {
    for (const [uri, password] of MALFORMED) {
      const out = redactUri(uri);
      assertHidden(out, password, uri);
      assert.ok(out.includes('bob:***@'), `${uri} -> ${out}`);
    }
    assert.equal(redactUri('mongodb://bob:Head1@Tail2@h/'), 'mongodb://bob:***@h/');
    assert.equal(redactUri('mongodb://bob:Head1/Tail2@h/db'), 'mongodb://bob:***@h/db');
    assert.equal(redactUri('mongodb:/bob:OneSlash9@h/'), 'mongodb:/bob:***@h/');
    assert.equal(redactUri('bob:NoScheme3@h'), 'bob:***@h');
  });

  void it('masks option secrets', () => {
    assert.equal(
      redactUri('mongodb://h/db?tlsCertificateKeyFilePassword=KeyPass1&tls=true'),
      'mongodb://h/db?tlsCertificateKeyFilePassword=***&tls=true',
    );
  });

  void it('leaves a URI without credentials unchanged', () => {
    for (const uri of ['mongodb://127.0.0.1:27017', 'mongodb://h1,h2/db?x=1', 'mongodb+srv://cluster0.example.net/db', 'mongodb://user@host/db', 'no uri here']) {
      assert.equal(redactUri(uri), uri);
    }
  });
});

void describe('redactText', () => {
  void it('masks every URI password in a text', () => {
    const text = 'primary mongodb://a:pw1@h1/x failed, fallback mongodb+srv://b:pw2@h2/y also failed';
    assert.equal(redactText(text), 'primary mongodb://a:***@h1/x failed, fallback mongodb+srv://b:***@h2/y also failed');
    assert.equal(redactText('cannot connect to (mongodb://u:topsecret@h/db), retrying'), 'cannot connect to (mongodb://u:***@h/db), retrying');
    assert.equal(redactText('MONGODB://u:secret@h/db'), 'MONGODB://u:***@h/db');
  });

  void it('masks passwords of mistyped schemes and of other URL schemes by pattern', () => {
    assert.equal(redactText('bad: mongo://bob:Wrong5cheme@h/'), 'bad: mongo://bob:***@h/');
    assert.equal(redactText('bad: mongodb:/bob:OneSlash9@h/'), 'bad: mongodb:/bob:***@h/');
    assert.equal(redactText('bad: mongodb:bob:NoSlash7@h/'), 'bad: mongodb:bob:***@h/');
    assert.equal(redactText('also postgres://u:pgpass1@h/db and redis://:redpass1@h'), 'also postgres://u:***@h/db and redis://:***@h');
  });

  void it('masks user:pass@host without a scheme', () => {
    assert.equal(redactText('auth bob:NoScheme3@db1:27017 failed'), 'auth bob:***@db1:27017 failed');
    assert.equal(redactText('{"uri":"bob:NoScheme3@h"}'), '{"uri":"bob:***@h"}');
    assert.equal(redactText('uri=bob:Head1@Tail2@h/x'), 'uri=bob:***@h/x');
  });

  void it('masks the given secrets wherever they appear, longest first, in every form', () => {
    const secrets = secretsOf('mongodb://app:p%40ss%3Aword@db.example.com/app');
    const text = 'Authentication failed for password p@ss:word (raw p%40ss%3Aword)';
    assert.equal(redactText(text, secrets), 'Authentication failed for password *** (raw ***)');
    // a password with a space is not found by pattern, only as a known secret
    assert.equal(redactText('login Head1 Tail2 refused', secretsOf('mongodb://bob:Head1 Tail2@h/')), 'login *** refused');
    const quoted = JSON.stringify({ message: 'mongodb://bob:Head1"Mid2\\Tail3@h/' });
    assertHidden(redactText(quoted, secretsOf('mongodb://bob:Head1"Mid2\\Tail3@h/')), 'Head1"Mid2\\Tail3', 'JSON-escaped');
  });

  void it('leaves ordinary text alone: times, e-mail addresses, paths, package names, stack traces', () => {
    const ordinary = [
      'at 10:42 the job ran',
      'started 2024-01-01T10:42:00Z by bob@example.com',
      'mail bob@example.com or bob+tag@example.co.uk',
      'contact: bob@example.com',
      'mailto:bob@example.com',
      'sip:alice@voip.example.com',
      'npm:left-pad@1.3.0',
      'git@github.com:org/repo.git',
      'ssh bob@db.example.com:22',
      'user@[::1]:27017 and [::1]:27017',
      'see https://registry.npmjs.org:443/@babel/core',
      'https://user@github.com/org/repo',
      'at load (/work/node_modules/@babel/core/lib/index.js:10:5)',
      'at load (C:\\work\\node_modules\\@babel\\core\\index.js:3:5)',
      'at load (file:///C:/work/node_modules/@scope/pkg/index.js:1:2)',
      'E11000 duplicate key error collection: app.users index: email_1 dup key: { email: "a@b.com" }',
      'ratio 3:1, all good',
      'mongodb://127.0.0.1:27017/app',
      'mongodb://user@host/db',
    ];
    for (const text of ordinary) assert.equal(redactText(text, secretsOf('mongodb://u:longpass@h/db')), text);
  });

  void it('masks a labelled word@host: it cannot be told from user:password@host', () => {
    assert.equal(redactText('email:bob@example.com'), 'email:***@example.com');
  });

  void it('is idempotent', () => {
    const once = redactText('x mongodb://bob:Head1@Tail2@h/ and bob:pw1234@h y');
    assert.equal(redactText(once), once);
  });
});

void describe('redactValue', () => {
  const secrets = secretsOf('mongodb://bob:Head1"Mid2\\Tail3@h/');

  void it('masks every string of nested plain objects and arrays, before JSON.stringify escapes them', () => {
    const value = {
      ok: false,
      error: { code: 'MIGRATION_FAILED', message: 'boom: mongodb://bob:Head1"Mid2\\Tail3@h/' },
      steps: [{ id: '001', error: 'raw Head1"Mid2\\Tail3' }, 'eve:EvePass99@other'],
      count: 3,
      nothing: null,
    };
    const masked = redactValue(value, secrets);
    const json = JSON.stringify(masked);
    assertHidden(json, 'Head1"Mid2\\Tail3', 'serialised');
    assert.ok(!json.includes('EvePass99'), json);
    assert.equal(masked.error.message, 'boom: mongodb://bob:***@h/');
    assert.equal(masked.count, 3);
    assert.equal(masked.nothing, null);
    // a copy: the original is untouched
    assert.equal(value.error.message, 'boom: mongodb://bob:Head1"Mid2\\Tail3@h/');
  });

  void it('keeps Dates, ObjectIds and other class instances as they are, and survives cycles', () => {
    const at = new Date('2024-01-01T00:00:00Z');
    const id = new ObjectId('66f1a2b3c4d5e6f708192a3b');
    const value: Record<string, unknown> = { at, id, text: 'bob:pw12345@h' };
    value.self = value;
    const masked = redactValue(value, []);
    assert.equal(masked.at, at);
    assert.equal(masked.id, id);
    assert.equal(masked.text, 'bob:***@h');
    assert.equal(masked.self, masked);
    assert.equal(redactValue('mongodb://u:pw12345@h', []), 'mongodb://u:***@h');
    assert.equal(redactValue(42, secrets), 42);
  });
});
