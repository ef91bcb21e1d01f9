/** Who is running: recorded on every changelog, history and lock document. */
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { CiJob } from '../types.ts';
import { ciJobOf } from './ci-job.ts';
import { PACKAGE_VERSION } from './package-files.ts';

export interface RunIdentity {
  runId: string;
  host: string;
  pid: number;
  user: string;
  toolVersion: string;
  /** The CI job running the command, where the environment says so (recorded in history). */
  ci: CiJob | undefined;
}

export const TOOL_VERSION = PACKAGE_VERSION;

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

export function newRunIdentity(): RunIdentity {
  return { runId: randomUUID(), host: hostname(), pid: process.pid, user: currentUser(), toolVersion: TOOL_VERSION, ci: ciJobOf(process.env) };
}
