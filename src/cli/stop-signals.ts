/**
 * Ctrl-C (SIGINT) and SIGTERM for a command that can stop at a safe point: the first signal asks
 * it to stop there, the second leaves at once with 130 (what is left behind expires).
 */
import type { CommandContext } from './context.ts';

export interface StopSignals {
  /** Whether a signal arrived. */
  interrupted: () => boolean;
  dispose: () => void;
}

export function onStopSignals(ctx: CommandContext, words: { stopping: string; leftBehind: string }, stop: () => void): StopSignals {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      ctx.renderer.warn(`second ${signal}: exiting now; ${words.leftBehind} left to expire`);
      process.exit(130);
    }
    ctx.renderer.warn(`${signal}: ${words.stopping} (press Ctrl-C again to quit at once)`);
    stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    interrupted: () => signals > 0,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
