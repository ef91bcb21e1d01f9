/**
 * Ctrl-C (SIGINT) and SIGTERM for a command that can stop at a safe point: the first signal asks
 * it to stop there, the second leaves at once with 130 (what is left behind expires). Leaving is
 * main()'s answer, never an exit from here: the bin is the only place that exits.
 */
import { EXIT_CODES } from './exit-codes.ts';
import type { Renderer } from './renderer.ts';

export interface StopSignals {
  dispose: () => void;
}

export function onStopSignals(
  out: Renderer,
  words: { stopping: string; leftBehind: string },
  stop: () => void,
  leave: (code: number) => void,
): StopSignals {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      out.warn(`second ${signal}: exiting now; ${words.leftBehind} left to expire`);
      leave(EXIT_CODES.INTERRUPTED);
      return;
    }
    out.warn(`${signal}: ${words.stopping} (press Ctrl-C again to quit at once)`);
    stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
