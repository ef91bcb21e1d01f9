// Unit tests of migration discovery and loading, and `create`'s naming rules (credential masking: redact.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { exitCodeFor } from '../../src/cli/exit-codes.ts';
import { slugify, timestampId } from '../../src/cli/commands/create.ts';
import { compareIds, listMigrations, type LoadedMigration } from '../../src/providers/contract.ts';
import { checksumOf, isMigrationFileName, migrationIdOf, staticDescription } from '../../src/providers/discover.ts';
import { fileProvider } from '../../src/providers/files.ts';
import { MongrateError } from '../../src/errors.ts';
import type { ListedMigration, MigrationContext } from '../../src/types.ts';
import { isError } from '../support/assertions.ts';
import { tempFolders } from '../support/temp.ts';

const temp = tempFolders('mongrate-unit-discovery-');
const folder = temp.folder;

/** A folder's migrations as every command but `validate` lists them: the file provider's survey, a duplicate id refused. */
const listFolder = (dir: string): Promise<ListedMigration[]> => listMigrations(fileProvider(dir));

/** Loads a listed file as the commands do: through the provider of its folder. */
const loadMigration = (migration: ListedMigration): Promise<LoadedMigration> => fileProvider(dirname(migration.path ?? '')).load(migration);

/** Writes one migration file and lists it, as the commands do. */
async function migrationFile(name: string, source: string): Promise<ListedMigration> {
  const [migration] = await listFolder(await folder({ [name]: source }));
  assert.ok(migration !== undefined, `${name} is listed`);
  return migration;
}

void describe('isMigrationFileName', () => {
  void it('counts .ts .mts .cts .js .mjs .cjs', () => {
    for (const name of ['001-a.ts', '001-a.mts', '001-a.cts', '001-a.js', '001-a.mjs', '001-a.cjs', '20240101000000-add-users.ts']) {
      assert.equal(isMigrationFileName(name), true, name);
    }
  });

  void it('does not count declaration files', () => {
    for (const name of ['001-a.d.ts', '001-a.d.mts', '001-a.d.cts']) assert.equal(isMigrationFileName(name), false, name);
  });

  void it('does not count files starting with _ or .', () => {
    for (const name of ['_x.ts', '_helpers.js', '.x.ts', '.eslintrc.js']) assert.equal(isMigrationFileName(name), false, name);
  });

  void it('does not count other extensions', () => {
    for (const name of ['001.json', 'README.md', '001.ts.bak', '001.tsx', '001', '001.TS.txt']) {
      assert.equal(isMigrationFileName(name), false, name);
    }
  });
});

void describe('migrationIdOf', () => {
  void it('is the file name without its extension', () => {
    assert.equal(migrationIdOf('001-add-users.ts'), '001-add-users');
    assert.equal(migrationIdOf('20240101000000-x.mjs'), '20240101000000-x');
    assert.equal(migrationIdOf('001.v2.cjs'), '001.v2');
  });
});

void describe('checksumOf', () => {
  void it("is 'sha256:' and the hex digest of the content", () => {
    const content = "export const up = async () => {};\n";
    const expected = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    assert.equal(checksumOf(content), expected);
    assert.equal(checksumOf(Buffer.from(content)), expected);
    assert.match(checksumOf(''), /^sha256:[0-9a-f]{64}$/);
  });

  void it('gives CRLF and LF the same checksum', () => {
    const lf = 'line one\nline two\n';
    const crlf = 'line one\r\nline two\r\n';
    assert.equal(checksumOf(crlf), checksumOf(lf));
    assert.equal(checksumOf(Buffer.from(crlf)), checksumOf(lf));
  });

  void it('differs for different content', () => {
    assert.notEqual(checksumOf('a\n'), checksumOf('b\n'));
    assert.notEqual(checksumOf('a\n'), checksumOf('a\n\n'));
  });
});

void describe('compareIds', () => {
  void it('orders by code unit, not locale or number', () => {
    assert.ok(compareIds('B', 'a') < 0);
    assert.ok(compareIds('10', '9') < 0);
    assert.ok(compareIds('Z', '_') < 0);
    assert.ok(compareIds('a', 'b') < 0);
    assert.ok(compareIds('b', 'a') > 0);
    assert.equal(compareIds('001', '001'), 0);
  });

  void it('sorts a list the same way on every machine', () => {
    assert.deepEqual(['b', '9', 'a', '10', 'B', '001-x'].sort(compareIds), ['001-x', '10', '9', 'B', 'a', 'b']);
  });
});

void describe('staticDescription', () => {
  void it('reads single, double and backtick quotes', () => {
    assert.equal(staticDescription("defineMigration({ description: 'single quoted', async up() {} })"), 'single quoted');
    assert.equal(staticDescription('export default { description: "double quoted" };'), 'double quoted');
    assert.equal(staticDescription('export default { description: `backticks` };'), 'backticks');
  });

  void it('reads a named export', () => {
    assert.equal(staticDescription("export const description = 'named export';"), 'named export');
  });

  void it('unescapes escaped quotes', () => {
    assert.equal(staticDescription("{ description: 'it\\'s done' }"), "it's done");
    assert.equal(staticDescription('{ description: "say \\"hi\\"" }'), 'say "hi"');
    assert.equal(staticDescription("{ description: \"it's fine\" }"), "it's fine");
  });

  void it('takes the first description', () => {
    assert.equal(staticDescription("{ description: 'first' }\n{ description: 'second' }"), 'first');
  });

  void it('gives undefined without a description', () => {
    assert.equal(staticDescription('export async function up() {}'), undefined);
    assert.equal(staticDescription(''), undefined);
    assert.equal(staticDescription("{ descriptionText: 'no' }"), undefined);
  });
});

void describe('listing the migrations folder', () => {
  void it('lists migrations sorted by id with path, checksum and description', async () => {
    const dir = await folder({
      '002-b.js': "export default { description: 'second', up: async () => {} };\n",
      '001-a.ts': "export default { description: 'first', async up() {} };\n",
      '010-c.mjs': 'export async function up() {}\n',
      'B.cjs': 'module.exports = { up: async () => {} };\n',
      'a.mts': 'export async function up() {}\n',
    });
    const files = await listFolder(dir);
    assert.deepEqual(
      files.map((f) => f.id),
      ['001-a', '002-b', '010-c', 'B', 'a'],
    );
    const [first] = files;
    assert.ok(first !== undefined);
    assert.deepEqual(first, {
      id: '001-a',
      path: join(dir, '001-a.ts'),
      checksum: checksumOf("export default { description: 'first', async up() {} };\n"),
      description: 'first',
    });
    assert.equal(files[2]?.description, undefined);
  });

  void it('ignores subfolders and files that are not migrations', async () => {
    const dir = await folder({
      '001-a.ts': 'export async function up() {}\n',
      '_shared.ts': 'export const x = 1;\n',
      '.hidden.ts': 'export const x = 1;\n',
      'types.d.ts': 'export {};\n',
      'README.md': '# migrations\n',
      'data.json': '{}',
    });
    await mkdir(join(dir, '002-folder.ts'));
    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'nested', '003-nested.ts'), 'export async function up() {}\n');
    const files = await listFolder(dir);
    assert.deepEqual(
      files.map((f) => f.id),
      ['001-a'],
    );
  });

  void it('gives an empty list for an empty folder', async () => {
    assert.deepEqual(await listFolder(await folder({})), []);
  });

  void it('refuses two files with one id with DUPLICATE_ID (exit 2) naming both', async () => {
    const dir = await folder({ '001-a.ts': 'export async function up() {}\n', '001-a.js': 'export async function up() {}\n' });
    await assert.rejects(listFolder(dir), isError('DUPLICATE_ID', /duplicate migration id '001-a'/));
    await assert.rejects(listFolder(dir), isError('DUPLICATE_ID', /001-a\.js/));
    await assert.rejects(listFolder(dir), isError('DUPLICATE_ID', /001-a\.ts/));
    await assert.rejects(listFolder(dir), (error: unknown) => error instanceof MongrateError && exitCodeFor(error.code) === 2);
    // validate's path: reported, not thrown
    const { migrations, duplicates } = await fileProvider(dir).survey();
    assert.deepEqual([migrations, duplicates], [[], [{ id: '001-a', names: ['001-a.js', '001-a.ts'] }]]);
  });

  void it('refuses a missing folder with USAGE, hinting at migrationsDir', async () => {
    const missing = join(temp.root(), 'no-such-folder');
    await assert.rejects(listFolder(missing), (error: unknown) => {
      assert.ok(isError('USAGE', /migrations folder not found/)(error) && error instanceof MongrateError);
      assert.deepEqual(error.hints.map((h) => h.setting), ['migrationsDir'], 'the way out, in API terms');
      return true;
    });
  });

  void it('gives the same checksum for a CRLF file as for its LF form', async () => {
    const dir = await folder({ '001-a.ts': 'export async function up() {}\r\n// done\r\n' });
    const [file] = await listFolder(dir);
    assert.equal(file?.checksum, checksumOf('export async function up() {}\n// done\n'));
  });
});

void describe('listing the migrations folder, with symbolic links', () => {
  const SOURCE = "export default { description: 'shared', async up() { return 'linked up'; } };\n";

  void it('follows links to files: the link names the id, the checksum is of the target bytes, and it loads', async () => {
    const shared = await folder({ 'real-a.ts': SOURCE, 'real-b.js': 'export async function up() {}\n' });
    const dir = await folder({});
    await symlink(join(shared, 'real-a.ts'), join(dir, '001-a.ts'));
    await symlink('../' + basename(shared) + '/real-b.js', join(dir, '002-b.js')); // a relative link
    const files = await listFolder(dir);
    assert.deepEqual(files.map((f) => [f.id, f.path]), [['001-a', join(dir, '001-a.ts')], ['002-b', join(dir, '002-b.js')]]);
    const [linked] = files;
    assert.ok(linked !== undefined);
    assert.equal(linked.checksum, checksumOf(SOURCE));
    assert.equal(linked.description, 'shared');
    const loaded = await loadMigration(linked);
    assert.equal(await loaded.definition.up({} as MigrationContext), 'linked up');
  });

  void it('ignores a link to a folder, as it ignores folders', async () => {
    const dir = await folder({ '001-a.ts': 'export async function up() {}\n' });
    await mkdir(join(dir, 'elsewhere'));
    await symlink(join(dir, 'elsewhere'), join(dir, '002-folder.ts'));
    assert.deepEqual((await listFolder(dir)).map((f) => f.id), ['001-a']);
  });

  void it('refuses a dangling or looping link with USAGE naming it and its target, rather than dropping a migration', async () => {
    const dir = await folder({ '001-a.ts': 'export async function up() {}\n' });
    await symlink(join(dir, 'gone.ts'), join(dir, '002-gone.ts'));
    await assert.rejects(listFolder(dir), isError('USAGE', /002-gone\.ts .*symbolic link to .*gone\.ts, which does not exist/));
    await assert.rejects(fileProvider(dir).survey(), isError('USAGE', /002-gone\.ts/));
    const loop = await folder({});
    await symlink(join(loop, '001-x.ts'), join(loop, '001-x.ts'));
    await assert.rejects(listFolder(loop), isError('USAGE', /001-x\.ts .*which loops/));
  });

  void it('ignores a dangling link whose name is not a migration', async () => {
    const dir = await folder({ '001-a.ts': 'export async function up() {}\n' });
    await symlink(join(dir, 'nowhere.md'), join(dir, 'README.md'));
    await symlink(join(dir, 'nowhere.ts'), join(dir, '_shared.ts'));
    assert.deepEqual((await listFolder(dir)).map((f) => f.id), ['001-a']);
  });
});

void describe('loadMigration', () => {
  const context = {} as MigrationContext;

  void it('loads a default export made with defineMigration', async () => {
    const file = await migrationFile(
      '001-default.ts',
      [
        "import { defineMigration } from 'mongrate';",
        'export default defineMigration({',
        "  description: 'from the definition',",
        '  transaction: false,',
        "  async up() { return 'up ran'; },",
        "  async down() { return 'down ran'; },",
        '});',
        '',
      ].join('\n'),
    );
    const loaded = await loadMigration(file);
    assert.equal(loaded.id, '001-default');
    assert.equal(loaded.path, file.path);
    assert.equal(loaded.description, 'from the definition');
    assert.equal(loaded.definition.description, 'from the definition');
    assert.equal(loaded.definition.transaction, false);
    assert.equal(await loaded.definition.up(context), 'up ran');
    assert.equal(await loaded.definition.down?.(context), 'down ran');
  });

  void it('loads named exports', async () => {
    const file = await migrationFile(
      '002-named.ts',
      [
        "export const description = 'named';",
        "export async function up(): Promise<string> { return 'named up'; }",
        "export async function down(): Promise<string> { return 'named down'; }",
        '',
      ].join('\n'),
    );
    const loaded = await loadMigration(file);
    assert.equal(loaded.definition.description, 'named');
    assert.equal(await loaded.definition.up(context), 'named up');
    assert.equal(await loaded.definition.down?.(context), 'named down');
    assert.equal(loaded.definition.transaction, undefined);
  });

  void it('loads named exports of an .mjs file without down', async () => {
    const file = await migrationFile('003-mjs.mjs', "export async function up() { return 'mjs up'; }\n");
    const loaded = await loadMigration(file);
    assert.equal(await loaded.definition.up(context), 'mjs up');
    assert.equal(loaded.definition.down, undefined);
    assert.equal('down' in loaded.definition, false);
  });

  void it('loads CommonJS module.exports in a .cjs file', async () => {
    const file = await migrationFile(
      '004-common.cjs',
      [
        'module.exports = {',
        "  description: 'commonjs',",
        "  up: async () => 'cjs up',",
        "  down: async () => 'cjs down',",
        '};',
        '',
      ].join('\n'),
    );
    const loaded = await loadMigration(file);
    assert.equal(loaded.description, 'commonjs');
    assert.equal(await loaded.definition.up(context), 'cjs up');
    assert.equal(await loaded.definition.down?.(context), 'cjs down');
  });

  void it('keeps the static description when the module exports none', async () => {
    const file = await migrationFile('005-nodesc.ts', 'export async function up(): Promise<void> {}\n');
    const loaded = await loadMigration({ ...file, description: 'from discovery' });
    assert.equal(loaded.description, 'from discovery');
    assert.equal(loaded.definition.description, undefined);
  });

  void it('refuses a file without up with USAGE naming it', async () => {
    const file = await migrationFile('006-noup.ts', "export async function down(): Promise<void> {}\nexport const description = 'x';\n");
    await assert.rejects(loadMigration(file), isError('USAGE', /006-noup\.ts.*`up`/));
    const empty = await migrationFile('007-empty.ts', 'export {};\n');
    await assert.rejects(loadMigration(empty), isError('USAGE', /007-empty\.ts/));
  });

  void it('refuses an up that is not a function', async () => {
    const file = await migrationFile('008-upstring.ts', "export default { up: 'not a function' };\n");
    await assert.rejects(loadMigration(file), isError('USAGE', /`up`/));
  });

  void it('refuses a down that is not a function', async () => {
    const file = await migrationFile('009-downstring.ts', "export default { up: async () => {}, down: 'nope' };\n");
    await assert.rejects(loadMigration(file), isError('USAGE', /`down` must be a function/));
  });

  void it('refuses a transaction flag that is not a boolean', async () => {
    const file = await migrationFile('010-tx.ts', "export default { up: async () => {}, transaction: 'no' };\n");
    await assert.rejects(loadMigration(file), isError('USAGE', /`transaction`/));
  });

  void it('turns a syntax error into a one-line USAGE error naming the file', async () => {
    const file = await migrationFile('011-broken.ts', 'export async function up( {\n  const x = ;\n}\n');
    await assert.rejects(loadMigration(file), (error: unknown) => {
      assert.ok(error instanceof MongrateError, `expected a MongrateError, got ${String(error)}`);
      assert.equal(error.code, 'USAGE');
      assert.match(error.message, /011-broken\.ts/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
  });

  void it('turns an error thrown at import time into a USAGE error naming the file', async () => {
    const file = await migrationFile('012-throws.ts', "throw new Error('top-level failure');\nexport async function up(): Promise<void> {}\n");
    await assert.rejects(loadMigration(file), isError('USAGE', /012-throws\.ts.*top-level failure/));
  });

  void it('names the file by its base name at least', async () => {
    const file = await migrationFile('013-noup.js', 'export const x = 1;\n');
    await assert.rejects(loadMigration(file), isError('USAGE', new RegExp(basename(file.path ?? '').replace('.', '\\.'))));
  });
});

void describe('slugify', () => {
  void it('lowercases words and joins them with dashes', () => {
    assert.equal(slugify('Add User profile!'), 'add-user-profile');
    assert.equal(slugify('  create   orders index  '), 'create-orders-index');
    assert.equal(slugify('add_users-v2'), 'add-users-v2');
  });

  void it('strips accents', () => {
    assert.equal(slugify('Café crème brûlée'), 'cafe-creme-brulee');
    assert.equal(slugify('Ärger über Öl'), 'arger-uber-ol');
  });

  void it('refuses path separators and ..', () => {
    for (const name of ['a/b', '../evil', 'a\\b', 'x..y', '..']) {
      assert.throws(() => slugify(name), isError('USAGE', /invalid migration name/), name);
    }
  });

  void it('refuses a name with nothing usable', () => {
    for (const name of ['', '   ', '!!!', '---', '日本語']) {
      assert.throws(() => slugify(name), isError('USAGE', /invalid migration name/), name);
    }
  });

  void it('limits the slug to 80 characters', () => {
    assert.equal(slugify('a'.repeat(200)).length, 80);
  });
});

void describe('timestampId', () => {
  void it('is 14 digits of the UTC time', () => {
    assert.equal(timestampId(new Date(Date.UTC(2024, 0, 2, 3, 4, 5))), '20240102030405');
    assert.equal(timestampId(new Date('2024-12-31T23:59:59.999Z')), '20241231235959');
    assert.equal(timestampId(new Date('2025-06-01T00:00:00+02:00')), '20250531220000');
  });

  void it('always gives 14 digits', () => {
    assert.match(timestampId(new Date()), /^\d{14}$/);
  });

  void it('sorts in time order', () => {
    const earlier = timestampId(new Date('2024-01-01T09:59:59Z'));
    const later = timestampId(new Date('2024-01-01T10:00:00Z'));
    assert.ok(compareIds(earlier, later) < 0);
  });
});
