// A byte-exact picture of a database, to show that something (a dry run) changed nothing at all.
import type { Db, Document } from 'mongodb';

export interface CollectionSnapshot {
  name: string;
  type: string;
  options: string;
  /** listIndexes, by name, as JSON. */
  indexes: string[];
  /** Every document's BSON bytes (hex), in `_id` order. */
  documents: string[];
}

function hex(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new Error(`expected raw BSON bytes, got ${typeof value}`);
  return Buffer.from(value).toString('hex');
}

/** Every collection of the database: its options, indexes and the raw bytes of every document. */
export async function snapshotDb(db: Db): Promise<CollectionSnapshot[]> {
  const infos = (await db.listCollections().toArray()) as Document[];
  infos.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  const snapshot: CollectionSnapshot[] = [];
  for (const info of infos) {
    const name = String(info.name);
    const collection = db.collection(name);
    const indexes = ((await collection.listIndexes().toArray()) as Document[]).map((index) => JSON.stringify(index)).sort();
    // raw: the driver hands back each document's bytes as the server sent them
    const documents = ((await collection.find({}, { raw: true, sort: { _id: 1 } }).toArray()) as unknown[]).map(hex);
    snapshot.push({ name, type: String(info.type ?? 'collection'), options: JSON.stringify(info.options ?? {}), indexes, documents });
  }
  return snapshot;
}

/** Collection names with their document counts, for readable assertion messages. */
export function describeSnapshot(snapshot: CollectionSnapshot[]): string {
  return snapshot.map((c) => `${c.name}(${c.documents.length})`).join(', ');
}
