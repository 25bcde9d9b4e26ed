/**
 * The part every entry point shares: run one command, turn whatever it throws
 * into a one-line message and an exit status, and exit only after output has
 * been flushed.
 */
import { EXIT, PeerlaneError, toPeerlaneError } from '../core/errors.js';
import { FREEZE_LIMIT_MS, startFreezeGuard } from './freeze-guard.js';
import type { Output } from './output.js';
import { flush } from './output.js';

/** After Ctrl-C, give cleanup (removing a .part, telling the peer) this long. */
const INTERRUPT_GRACE_MS = 2_000;

export interface RunOptions {
  /**
   * A server stops on SIGINT/SIGTERM by design: that is a clean exit, not an
   * interruption. A function is asked when the signal arrives, for a command
   * whose Ctrl-C means "stop" only in some states (a get once it only seeds).
   */
  signalMeansStop?: boolean | (() => boolean);
  /** Kill the process, with an RTC_STALLED error, if a native call freezes its main thread (freeze-guard.ts). */
  freezeGuard?: boolean;
}

export async function runCommand(
  output: Output,
  command: (abortSignal: AbortSignal) => Promise<void>,
  options: RunOptions = {},
): Promise<never> {
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  /** Whether the signal that came was a clean stop: decided as it came, before the command winds down. */
  let cleanStop = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) process.exit(EXIT.INTERRUPTED);
    interrupted = signal;
    const { signalMeansStop } = options;
    cleanStop = typeof signalMeansStop === 'function' ? signalMeansStop() : signalMeansStop === true;
    controller.abort();
    setTimeout(() => process.exit(EXIT.INTERRUPTED), INTERRUPT_GRACE_MS).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  if (options.freezeGuard) {
    const frozen = new PeerlaneError(
      'RTC_STALLED',
      `the process stopped responding for ${FREEZE_LIMIT_MS / 1000} s inside the WebRTC library and was ended`,
    );
    startFreezeGuard(output.lastWords(frozen));
  }

  let status: number = EXIT.OK;
  const stopped = (): PeerlaneError =>
    new PeerlaneError(
      'INTERRUPTED',
      interrupted === 'SIGINT' ? 'stopped by Ctrl-C' : `stopped by ${interrupted}`,
    );
  try {
    await command(controller.signal);
    if (interrupted && !cleanStop) throw stopped();
  } catch (err) {
    const error = interrupted && !cleanStop ? stopped() : toPeerlaneError(err);
    output.error(error);
    status = error.exitCode;
  }
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  // node-datachannel's native threads can outlive the last handle; exit explicitly.
  process.exit(status);
}

/** For yargs' failure hook: a usage error exits 2 with the reason and a hint. */
export function usageError(output: Output, message: string): never {
  output.error(new PeerlaneError('USAGE', message));
  process.exitCode = EXIT.USAGE;
  process.exit(EXIT.USAGE);
}
