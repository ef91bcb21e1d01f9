/**
 * What copyAndRename writes for each source document, in the copy and in the catch-up passes
 * alike: its copy (the transform's document, with the stored BSON types of what the transform left
 * alone, or nothing when the transform leaves it out), the original as stored (for a kept
 * original), and its digest record in `_mongrate_sums_<target>`.
 *
 * The digest records are how a write to the source during the copy is found without holding the
 * collection in memory: one record per source `_id` on the server, `{ _id, d, c, t? }` with `d` a
 * 128-bit SHA-256 prefix of the document's bytes as copied, `c` whether the copy has it, and `t` the
 * copy's `_id` where the transform gave it another one.
 */
import { createHash } from 'node:crypto';
import type { Collection, Document, WithId } from 'mongodb';
import { checkResult, type PageTransform } from './page-writes.ts';
import { keepTypes, storedValues, WRITE_OPTIONS } from './typed.ts';
import type { HelperContext } from './types.ts';
import { withSession } from './context.ts';

export interface SumRecord {
  _id: unknown;
  /** Digest of the source document's bytes. */
  d: string;
  /** The copy has this document. */
  c: boolean;
  /** The copy's `_id`, where it differs from the source's. */
  t?: unknown;
}

/** One source document as the copy takes it. */
export interface CopiedDocument {
  sum: SumRecord;
  /** Its copy; undefined when the transform left it out. */
  copy: Document | undefined;
  /** The document as stored, every BSON type kept. */
  original: WithId<Document>;
}

export interface CopyCounts {
  /** Documents in the copy. */
  copied: number;
  /** Source documents the transform left out of it. */
  leftOut: number;
  /** Inserts, updates and deletes made to the source during the copy and carried into it. */
  carriedOver: number;
}

export function digestOf(raw: Uint8Array): string {
  return createHash('sha256').update(raw).digest('base64').slice(0, 22);
}

export class CopyJob {
  readonly counts: CopyCounts = { copied: 0, leftOut: 0, carriedOver: 0 };
  /** For writes to the copies: they are faithful, or in the new shape, while a validator copied from the source describes the old one. */
  readonly writeOptions: { bypassDocumentValidation?: boolean; ignoreUndefined: true };

  constructor(
    private readonly ctx: HelperContext,
    readonly source: Collection,
    /** The copy. */
    readonly temp: Collection,
    /** The copy of the original, where the swap itself would destroy the original; else undefined. */
    readonly keepTemp: Collection | undefined,
    readonly sums: Collection,
    private readonly transform: PageTransform,
    validated: boolean,
    readonly what: string,
  ) {
    this.writeOptions = { ...WRITE_OPTIONS, ...(validated ? { bypassDocumentValidation: true } : {}) };
  }

  /** Session and write options for an insert into one of the copies. */
  insertOptions(): Document {
    return { ...withSession(this.ctx), ...this.writeOptions, ordered: true };
  }

  /**
   * What the copy gets for one source document, read as `doc` (its transform view) from `raw`;
   * `decoded`, its stored values where the page has them already (else decoded when needed).
   */
  async take(doc: WithId<Document>, raw: Uint8Array, decoded?: WithId<Document>): Promise<CopiedDocument> {
    let stored = decoded;
    const original = (): WithId<Document> => (stored ??= storedValues(raw, this.ctx));
    const outcome = checkResult(await this.transform(doc, original), doc, this.what);
    const kept = original();
    const sum: SumRecord = { _id: kept._id, d: digestOf(raw), c: false };
    if (outcome === null || outcome === 'delete') return { sum, copy: undefined, original: kept };
    const { _id: id, ...rest } = outcome;
    const copy = keepTypes({ _id: (id as unknown) ?? kept._id, ...rest }, kept, this.ctx).value as Document;
    sum.c = true;
    if (id !== undefined && !keepTypes(id, kept._id, this.ctx).same) sum.t = copy._id;
    return { sum, copy, original: kept };
  }
}
