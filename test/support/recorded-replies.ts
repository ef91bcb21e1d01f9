// Replies recorded from the test server, shared by the unit tests that decide from them.
import type { Document } from 'mongodb';

// Recorded from FerretDB 1.24.2 (SQLite backend) as the test suite starts it.
export const FERRETDB_BUILD_INFO: Document = {
  version: '7.0.42',
  gitVersion: 'unknown',
  modules: [],
  sysInfo: 'deprecated',
  versionArray: [7, 0, 42, 0],
  bits: 64,
  debug: false,
  maxBsonObjectSize: 16777216,
  buildEnvironment: {
    'go.version': 'go1.26.8',
    '-buildmode': 'exe',
    '-compiler': 'gc',
    CGO_ENABLED: '1',
    GOARCH: 'amd64',
    GOOS: 'linux',
    GOAMD64: 'v1',
  },
  ferretdbVersion: 'v1.24.2',
  ferretdbFeatures: {
    aggregationStages: ['$set', '$skip', '$sort', '$unwind', '$group', '$match', '$project', '$unset', '$addFields', '$collStats', '$count', '$limit'],
  },
  ok: 1,
};
export const FERRETDB_HELLO: Document = {
  isWritablePrimary: true,
  maxBsonObjectSize: 16777216,
  maxMessageSizeBytes: 48000000,
  maxWriteBatchSize: 100000,
  localTime: new Date('2026-11-26T15:51:05.794Z'),
  logicalSessionTimeoutMinutes: 30,
  connectionId: 42,
  minWireVersion: 0,
  maxWireVersion: 21,
  readOnly: false,
  ok: 1,
};

// The transaction probe's failure on FerretDB 1.24.2: it accepts startTransaction on a read, then
// has no commitTransaction.
export const FERRETDB_COMMIT_TRANSACTION_REPLY: Document = {
  ok: 0,
  errmsg: "no such command: 'commitTransaction'",
  code: 59,
  codeName: 'CommandNotFound',
};
