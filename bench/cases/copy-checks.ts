// Group 4 (copy), continued: what copyAndRename's consistency checks cost (issue 18), at two sizes.
// Between the copy (its inserts and index builds) and the swap, copyAndRename re-reads the source
// against a digest per document kept on the server, until a pass finds nothing (then, where the
// server has collMod, once more with the source frozen). Nothing writes to the source here, so this
// is the floor of that cost: every pass clean. Each run is monitored (the phase is found in the
// commands sent: from after the copy's last insert or index build to the rename), so its wall time
// includes the monitor's decoding of replies.
import type { Db, WithId } from 'mongodb';
import { createHelpers } from '../../src/helpers/index.ts';
import { probeServer, type ServerInfo } from '../../src/server/capabilities.ts';
import { createUsers, nestedUser, type FlatUser } from '../data.ts';
import { trafficOf, type SentCommand, type TrafficMeter } from '../meter.ts';
import { caseResult, type CaseResult } from '../report.ts';

const SOURCE = 'checks_users';

export interface CopyChecksEnv {
  db: Db;
  meter: TrafficMeter;
  server: ServerInfo;
  /** The two collection sizes. */
  sizes: [number, number];
  runs: number;
  progress: (line: string) => void;
}

interface Phase {
  checkMs: number;
  copyMs: number;
  commands: SentCommand[];
  passes: number;
}

/** The consistency phase of one recorded copyAndRename: after the last insert or index build, before the rename. */
function phaseOf(commands: SentCommand[], passes: number): Phase {
  const last = commands.findLastIndex((c) => c.name === 'insert' || c.name === 'createIndexes');
  const rename = commands.findIndex((c) => c.name === 'renameCollection');
  const first = commands[0];
  const start = commands[last + 1];
  const end = commands[rename];
  if (first === undefined || start === undefined || end === undefined || rename <= last) throw new Error('copy-checks: the recorded copyAndRename has no consistency phase before its rename');
  return { checkMs: end.at - start.at, copyMs: end.at - first.at, commands: commands.slice(last + 1, rename), passes };
}

export async function copyChecksGroup(env: CopyChecksEnv): Promise<Record<string, CaseResult>> {
  const allowBriefGap = !env.server.supports('renameDropTarget');
  const counted = env.meter.client.db(env.db.databaseName);
  // the helpers' context on the monitored client, probed like the runner probes it
  const server = await probeServer(counted);
  const results: Record<string, CaseResult> = {};
  for (const [index, n] of env.sizes.entries()) {
    const phases: Phase[] = [];
    for (let run = 0; run < env.runs; run++) {
      await createUsers(env.db.collection<FlatUser>(SOURCE), n);
      const now = new Date();
      let passes = 0;
      const helpers = createHelpers({
        db: counted,
        server,
        dryRun: false,
        log: (line) => {
          passes = Number(/(\d+) catch-up pass/.exec(line)?.[1] ?? 0);
        },
      });
      const commands = await env.meter.record(() => helpers.copyAndRename(SOURCE, { transform: (doc) => nestedUser(doc as WithId<FlatUser>, now), allowBriefGap }));
      const phase = phaseOf(commands, passes);
      phases.push(phase);
      env.progress(`[copy checks ${run + 1}/${env.runs}] ${n} docs: checks ${phase.checkMs.toFixed(0)} ms (${phase.passes} passes, ${phase.commands.length} commands) of ${phase.copyMs.toFixed(0)} ms`);
    }
    await env.db.collection(SOURCE).drop().catch(() => false);
    const first = phases[0];
    if (first === undefined) continue;
    const checkMs = phases.map((p) => p.checkMs);
    const share = phases.map((p) => p.checkMs / p.copyMs);
    const key = index === 0 ? 'copy_checks_small' : 'copy_checks_large';
    results[key] = caseResult('copy', `copyAndRename's consistency checks, ${n.toLocaleString('en-US')} docs, nothing written meanwhile`, 'ms', checkMs, {
      sample: { documents: n, of: n, reason: index === 0 ? 'a tenth of the copy case' : 'the copy case' },
      traffic: trafficOf(first.commands),
      extra: {
        passes: first.passes,
        copyAndRenameMs: phases.map((p) => p.copyMs).sort((a, b) => a - b)[Math.floor(phases.length / 2)] ?? 0,
        checksShareOfCopy: share.sort((a, b) => a - b)[Math.floor(share.length / 2)] ?? 0,
      },
      note: `${first.passes} clean catch-up pass${first.passes === 1 ? '' : 'es'}${server.supports('validators') ? ' (the last with the source frozen)' : ' (no collMod: the source cannot be frozen)'}; ${Math.round((share[Math.floor(share.length / 2)] ?? 0) * 100)}% of the whole copyAndRename`,
    });
  }
  return results;
}
