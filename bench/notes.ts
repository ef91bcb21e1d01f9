// Why a target was missed, in sentences built from this run's own measurements. A note starting
// with "server:" says the miss is the server's (FerretDB 1.24's costs and limits), with the
// figures that show it; any other note is ours to fix.
import type { ServerInfo } from '../src/server/capabilities.ts';
import { num, type CaseResult, type ServerProfile } from './report.ts';

export interface NoteFacts {
  server: ServerInfo;
  profile: ServerProfile | null;
  cases: Record<string, CaseResult>;
}

const fmt = (value: number): string => value.toLocaleString('en-US', { maximumFractionDigits: 1 });

function commandsText(c: CaseResult | undefined): string {
  if (c?.traffic == null) return '?';
  const names = Object.entries(c.traffic.byCommand)
    .sort((a, b) => b[1] - a[1])
    .map(([name, count]) => `${count} ${name}`)
    .join(', ');
  return `${fmt(c.traffic.commands)} (${names})`;
}

/**
 * The commands of a batched helper case if each batch's write statements went out in one command,
 * as MongoDB takes them (1000 statements per command): its finds and counts as measured.
 */
function atOneWritePerBatch(c: CaseResult, batchSize: number): number | undefined {
  if (c.traffic === null || c.sample === null) return undefined;
  const writes = (c.traffic.byCommand.update ?? 0) + (c.traffic.byCommand.delete ?? 0);
  return c.traffic.commands - writes + Math.ceil(c.sample.documents / batchSize);
}

function capNote(facts: NoteFacts, key: string): string {
  const c = facts.cases[key];
  const cap = facts.server.maxUpdatesPerCommand;
  if (c?.traffic == null || c.sample === null) return '';
  const model = atOneWritePerBatch(c, 1000);
  const modelled = model === undefined ? '' : `; sent as one update command per batch (MongoDB takes 1000 statements in one), the same run is ${fmt(model)} commands, ${num((model * 1000) / c.sample.documents)} per 1000 documents`;
  const perBatch = `a full batch of 1000 changed documents is one find and ${Math.ceil(1000 / cap)} update commands here, one and one at 1000 statements per command; a call adds its progress count and the end of its walk once`;
  return `server: ${facts.server.describe()} takes at most ${cap} statements per update command (FerretDB 1.x never answers one with 100: see src/server/capabilities.ts), so ${key} sent ${commandsText(c)} for its ${fmt(c.sample.documents)} documents, ${fmt(c.traffic.writeStatements)} statements${modelled} (${perBatch})`;
}

/**
 * On FerretDB 1.24, `up` writes each migration's outcome with an update whose filter names more
 * than `_id` (state and claim; the next claim as a second, upsert statement): each is a pass over
 * the changelog collection there, so the wall time of `up` of 50 grows with FerretDB's cost, not
 * ours. Said next to the figure, pass or miss.
 */
function ferretApplyCost(facts: NoteFacts): string {
  return (
    `on ${facts.server.describe()} each migration's conditional outcome (filtered on _id, state and claim, with the next claim as an upsert statement in the same command) is a pass over the changelog collection: FerretDB's cost, not mongrate's, ` +
    `so this wall-time ratio is not a measure of ours; judge it on MongoDB (MONGODB_URI), and here by roundtrips_per_applied_migration and apply50_cpu_vs_migrate_mongo`
  );
}

/** A label for a figure that only FerretDB distorts, printed beside it whether it meets its target or not; null where it is not. */
export function serverLabel(key: string, facts: NoteFacts): string | null {
  if (facts.server.flavour !== 'ferretdb') return null;
  if (key === 'apply50_vs_migrate_mongo') return `server: ${ferretApplyCost(facts)}.`;
  return null;
}

export function missNote(key: string, facts: NoteFacts): string | null {
  const { server, profile, cases } = facts;
  const ferret = server.flavour === 'ferretdb';
  switch (key) {
    case 'reshape_roundtrips_per_1000':
      return ferret ? `${capNote(facts, 'reshape_fn')}.` : `reshape_fn sent ${commandsText(cases.reshape_fn)}.`;
    case 'reshape_roundtrips_vs_naive':
    case 'bump_roundtrips_vs_naive': {
      const [helper, naive] = key === 'reshape_roundtrips_vs_naive' ? ['reshape_fn', 'reshape_naive'] : ['bump_fn', 'bump_naive'];
      const base = `the naive loop sent ${commandsText(cases[naive])}`;
      return ferret ? `${capNote(facts, helper)}; ${base}.` : `${helper} sent ${commandsText(cases[helper])}; ${base}.`;
    }
    case 'copy_roundtrips_vs_naive': {
      const helper = cases.copy_helper;
      const per1000 = helper?.traffic == null || helper.sample === null ? '' : ` (2 per 1000 documents: an insert into the copy and one into its digests; the rest, ${fmt(helper.traffic.commands - 2 * Math.ceil(helper.sample.documents / 1000))}, reads of 10,000 documents a round trip and commands once per call)`;
      return `copyAndRename sent ${commandsText(helper)}${per1000}; the naive loop ${commandsText(cases.copy_naive)}: at this size the per-call commands weigh; they do not grow with the collection.`;
    }
    case 'reshape_decl_roundtrips_10n_vs_n': {
      const split = cases.reshape_decl_split;
      const tenth = cases.reshape_decl_split_tenth;
      const splitText = split?.traffic == null || tenth?.traffic == null ? '' : `; the same change as two specs whose paths do not overlap runs server-side (${split.note ?? ''}): ${split.traffic.commands} commands at 10 x n against ${tenth.traffic.commands} at n`;
      return `ours: the one spec as a user writes it runs ${cases.reshape_decl?.note ?? 'in batches'} (its renames and defaults both name settings.*), so its commands grow with the documents: ${commandsText(cases.reshape_decl)} at 10 x n, ${commandsText(cases.reshape_decl_tenth)} at n${splitText}.`;
    }
    case 'reshape_cpu_vs_floor': {
      const helper = cases.reshape_fn;
      const naive = cases.reshape_naive;
      const floor = cases.floor_nest;
      const marginal = helper?.extra?.marginalCpuMicrosPerDoc;
      if (helper?.cpuMicrosPerDoc == null || marginal === undefined || floor === undefined) return null;
      const perCommand = naive?.cpuMicrosPerDoc == null ? '' : `; the naive loop, one command per document, spent ${num(naive.cpuMicrosPerDoc)} µs per document: about what one command costs this client (the driver's work, its compiler and GC threads included)`;
      const commands = helper.commandsPer1000 === null ? '' : ` It sends ${num(helper.commandsPer1000)} commands per 1000 documents here${ferret ? ` (${server.maxUpdatesPerCommand} statements per update command on this server)` : ''}`;
      const spread = helper.cpuMicrosPerDocValues === null ? '' : ` (runs: ${helper.cpuMicrosPerDocValues.map((v) => num(v)).join(', ')})`;
      const driver = cases.reshape_driver?.cpuMicrosPerDoc;
      const driverText = driver == null ? '' : `; the driver alone, sending the same reads and the same update statements built in advance, spent ${num(driver)} µs per document (reshape_driver: ${num(driver / floor.median)}x the floor before reshape does anything)`;
      return `${ferret ? 'server (in part): ' : ''}reshape_fn spent ${num(helper.cpuMicrosPerDoc)} µs of client CPU per document${spread} at ${helper.sample?.documents ?? '?'} documents (one more document: ${num(marginal)} µs) against the floor's ${num(floor.median)}.${commands}${perCommand}${driverText}. Besides the driver, per document it decodes the page once (keeping BSON types), copies it for the transform, compares the result with it field by field and builds a conditional $set/$unset${cases.reshape_work === undefined ? '' : `: that part alone, with no server, is ${num(cases.reshape_work.median)} µs (reshape_work)`}.`;
    }
    case 'rss_10n_vs_n':
      return 'peak RSS grew with the collection: reshape should hold one batch at a time; check for retained documents.';
    case 'status_vs_bare':
    case 'noop_up_vs_bare': {
      const command = key === 'status_vs_bare' ? cases.cli_status : cases.cli_noop_up;
      const version = cases.cli_version;
      const bare = cases.cli_bare;
      if (command === undefined || version === undefined || bare === undefined) return null;
      return `not the server's: \`mongrate --version\` alone (start-up without the driver) takes ${num(version.median)} ms of the ${num(command.median)} ms, the whole bare script ${num(bare.median)} ms; the rest is loading the driver, config loading, reading and hashing the migration files, the server probe${key === 'noop_up_vs_bare' ? ' and the lock' : ' and rendering the table'}.`;
    }
    case 'apply50_vs_migrate_mongo': {
      const ours = cases.cli_apply;
      const theirs = cases.mm_apply;
      if (ours?.extra == null || theirs?.extra == null) return null;
      // a command sent once per migration is sent as often as the migrations' own inserts
      const k = ours.extra.migrationCommands ?? Number.NaN;
      // sent about once per migration (one more or less: the first claim, the last outcome, the run's clear)
      const split = (c: CaseResult): string => {
        const entries = Object.entries(c.traffic?.byCommand ?? {});
        const each = entries.filter(([, v]) => Math.abs(v - k) <= 1).map(([name, v]) => `${name} (${v})`);
        const once = entries.filter(([, v]) => Math.abs(v - k) > 1).reduce((total, [, v]) => total + v, 0);
        return `${each.length > 0 ? each.join(' + ') : 'nothing'} for ${k} migrations, ${once} more per run`;
      };
      const time = (c: CaseResult): string => `${num(c.extra?.ownCommandsMs ?? Number.NaN)} ms`;
      const cost =
        profile === null ? ''
        : ` On this server an insert costs ${num(profile.insertMs)} ms and an update whose filter names more than _id (the recorded outcome: _id, state and claim) ${num(profile.conditionalUpdateMs)} ms.`;
      return (
        (ferret ? `server (in part): ${ferretApplyCost(facts)}. ` : '') +
        `mongrate sends ${split(ours)} (the conditional outcome with the next migration's claim in one command, in a transaction also the commit; per run the first claim, the history entries in one insert, the lock, the clock, the probe) where migrate-mongo sends ${split(theirs)} (its changelog insert; no claim, no lock): ` +
        `on the counting run those commands of their own took ${time(ours)} against ${time(theirs)} of the ${num(ours.median)} and ${num(theirs.median)} ms; client CPU ${num(ours.extra.cpuMs ?? Number.NaN)} ms against ${num(theirs.extra.cpuMs ?? Number.NaN)} ms.${cost}`
      );
    }
    case 'roundtrips_per_applied_migration':
    case 'roundtrips_per_applied_migration_no_transaction':
      return `mongrate's own commands at ${cases.cli_apply?.sample?.documents ?? 'K'} migrations: ${Object.entries(cases.cli_apply?.traffic?.byCommand ?? {}).map(([k, v]) => `${v} ${k}`).join(', ')}.`;
    case 'throttle_on_vs_limit': {
      const on = cases.throttle_on;
      if (on?.extra == null) return null;
      return `the throttled reshape ran at ${num(on.median)} docs/s (${num(on.min)}-${num(on.max)}) for a limit of ${num(on.extra.limitDocsPerSecond ?? Number.NaN)}, waiting ${num((on.extra.waitedMs ?? 0) / 1000)} s per run; its own rate here was ${num(on.extra.unthrottledDocsPerSecond ?? Number.NaN)} docs/s.`;
    }
    case 'throttle_unbound_wait_ms':
    case 'throttle_unbound_vs_off': {
      const unbound = cases.throttle_unbound;
      const off = cases.throttle_off;
      if (unbound?.extra == null || off === undefined) return null;
      const waited = unbound.extra.waitedMs ?? 0;
      return waited === 0 ?
          `the unbound limit never made it wait (0 ms), so the difference is this server's run-to-run variation: no limit ${num(off.min)}-${num(off.max)} docs/s, unbound ${num(unbound.min)}-${num(unbound.max)}.`
        : `a limit 100 x above its rate still made it wait ${num(waited)} ms per run: the pacing is wrong.`;
    }
    default:
      return null;
  }
}
