/**
 * Two SignalPipes wired to each other in memory, for tests of the layers above
 * the signal server (connectPeer, the race, the transfer over a real data
 * channel) that need to reorder, delay, rewrite or cut what the peers say.
 */
import type { PeerlaneError } from '../core/errors.js';
import type { SignalPipe } from '../core/signaling/pipe.js';
import { parseRtcSignal } from '../core/signaling/rtc-signal.js';

export type PipeSide = 'offerer' | 'answerer';

export interface TestPipe extends SignalPipe {
  /** Every payload delivered to this side, in order. */
  readonly received: string[];
  /** Report a signaling failure to this side, as the client does on `peer-left`. */
  failWith(err: PeerlaneError): void;
}

export interface PipePairOptions {
  /** Milliseconds to hold a payload before delivering it to `to` (0: at once; negative: drop it). */
  hold?: (payload: string, to: PipeSide) => number;
  /** What `to` gets instead of `payload`. */
  rewrite?: (payload: string, to: PipeSide) => string;
}

export interface PipePair {
  offerer: TestPipe;
  answerer: TestPipe;
  /** Every delivery in order, as "to:kind" (e.g. "offerer:answer"). */
  log: string[];
}

/** What the payload says it is, for the log; a payload that is no RtcSignal (a rewritten one) is "?". */
function kindOf(payload: string): string {
  try {
    return parseRtcSignal(payload).kind;
  } catch {
    return '?';
  }
}

export function pipePair(options: PipePairOptions = {}): PipePair {
  const hold = options.hold ?? (() => 0);
  const rewrite = options.rewrite ?? ((p: string) => p);
  const log: string[] = [];
  const make = (side: PipeSide): TestPipe & { deliver(p: string): void } => {
    let handler: ((p: string) => void) | undefined;
    let onFail: ((e: PeerlaneError) => void) | undefined;
    const pending: string[] = [];
    const received: string[] = [];
    return {
      received,
      sendPayload: () => {},
      onPayload(h) {
        handler = h;
        for (const p of pending.splice(0)) h(p);
      },
      onFailure(h) {
        onFail = h;
      },
      failWith(err) {
        onFail?.(err);
      },
      deliver(p) {
        received.push(p);
        log.push(`${side}:${kindOf(p)}`);
        if (handler) handler(p);
        else pending.push(p);
      },
    };
  };
  const offerer = make('offerer');
  const answerer = make('answerer');
  const route = (to: typeof offerer, side: PipeSide) => (sent: string) => {
    const p = rewrite(sent, side);
    const delay = hold(p, side);
    if (delay < 0) return;
    if (delay > 0) setTimeout(() => to.deliver(p), delay);
    else to.deliver(p);
  };
  offerer.sendPayload = route(answerer, 'answerer');
  answerer.sendPayload = route(offerer, 'offerer');
  return { offerer, answerer, log };
}
