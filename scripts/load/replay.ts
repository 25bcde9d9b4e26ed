/**
 * Replay mode: measure the server, not the generator's CPace.
 *
 * Before the clock starts, `recordBook` runs the real conversation (PAKE with
 * a fresh secret, then the sealed pings and pongs) between two in-memory peers
 * once per nameplate, and keeps every payload each side sent, in order, with
 * how many of the partner's payloads it had received when it sent it. During
 * the measured phase each pairing registers and joins through the real server
 * as usual, looks up the transcript of the nameplate the server gave it (CPace
 * binds the nameplate, so a transcript is only genuine under its own), and
 * `play`s it: each side sends its next payload once it has received as many
 * as the recording says, exactly as the live peers did. The server never
 * interprets payloads, so it sees the same bytes, sizes and order as in fresh
 * mode; only the generator's CPU is spared. Each delivered payload is checked
 * against the recording, so a relay that reorders or alters one is an error.
 */

import { Worker } from 'node:worker_threads';
import type { PeerlaneError } from '../../src/core/errors.js';
import { parseSecureMessage } from '../../src/core/secure/protocol.js';
import type { SignalClient } from '../../src/core/signaling/client.js';
import type { SignalPipe } from '../../src/core/signaling/pipe.js';
import { handshake, pingPong } from './conversation.js';
import type { Converse } from './pairing.js';

type Side = 'tx' | 'rx';

/** One relayed payload of a recorded pairing. */
export interface Step {
  from: Side;
  /** How many of the partner's payloads `from` had received when it sent this one. */
  after: number;
  /** A sealed box (timed, as in fresh mode) rather than a PAKE share or confirmation. */
  sealed: boolean;
  payload: string;
}

/** Recorded pairings by nameplate. */
export type TranscriptBook = Record<string, Step[]>;

/**
 * Both state backends draw nameplates from 1..99 while fewer than 50 receivers
 * wait and from 1..999 while fewer than 500 do; the generator keeps far fewer
 * in flight, so recording these covers every pairing. A nameplate outside
 * them is recorded on the spot and counted (`lateTranscripts`).
 */
export const RECORDED_NAMEPLATES = 999;

/** One side of an in-memory relay that logs what it sends. */
class RecordingPipe implements SignalPipe {
  partner: RecordingPipe | undefined;
  private received = 0;
  private handler: ((payload: string) => void) | undefined;
  private readonly early: string[] = [];

  constructor(
    private readonly side: Side,
    private readonly steps: Step[],
  ) {}

  sendPayload(payload: string): void {
    const sealed = parseSecureMessage(payload).kind === 'sealed';
    this.steps.push({ from: this.side, after: this.received, sealed, payload });
    const partner = this.partner;
    // Asynchronously, like a socket: the sender finishes its turn first.
    queueMicrotask(() => partner?.deliver(payload));
  }

  onPayload(handler: (payload: string) => void): void {
    this.handler = handler;
    for (const p of this.early.splice(0)) handler(p);
  }

  onFailure(_handler: (err: PeerlaneError) => void): void {}

  private deliver(payload: string): void {
    this.received++;
    if (this.handler !== undefined) this.handler(payload);
    else this.early.push(payload);
  }
}

/** The real conversation of one pairing under `nameplate`, with real CPace shares, tags and boxes. */
export async function recordTranscript(nameplate: string): Promise<Step[]> {
  const steps: Step[] = [];
  const tx = new RecordingPipe('tx', steps);
  const rx = new RecordingPipe('rx', steps);
  tx.partner = rx;
  rx.partner = tx;
  const [a, b] = await handshake(tx, rx, nameplate, 'answerer');
  await pingPong(a, b, []);
  return steps;
}

/** One transcript for each nameplate in 1..count, recorded by `threads` threads. */
export async function recordBook(threads: number, count = RECORDED_NAMEPLATES): Promise<TranscriptBook> {
  const n = Math.max(1, threads);
  const parts = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const first = Math.floor((i * count) / n) + 1;
      const last = Math.floor(((i + 1) * count) / n);
      const worker = new Worker(new URL('./record-worker.js', import.meta.url), {
        workerData: { first, last },
      });
      return new Promise<TranscriptBook>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    }),
  );
  return Object.assign({}, ...parts) as TranscriptBook;
}

/** Replay through the real server whatever `book` holds for the nameplate; `late` counts misses. */
export function replay(book: TranscriptBook, late: { count: number }): Converse {
  return async (tx, rx, nameplate, _rxRole, latencies) => {
    let steps = book[nameplate];
    if (steps === undefined) {
      late.count++;
      steps = await recordTranscript(nameplate);
      book[nameplate] = steps;
    }
    await play(steps, { tx, rx }, latencies);
  };
}

/** Send each side's payloads as soon as it has heard what the recording says it had; resolves when all arrived. */
function play(steps: Step[], clients: Record<Side, SignalClient>, latencies: number[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const mine: Record<Side, Step[]> = {
      tx: steps.filter((s) => s.from === 'tx'),
      rx: steps.filter((s) => s.from === 'rx'),
    };
    const sentAt: Record<Side, number[]> = { tx: [], rx: [] };
    const received: Record<Side, number> = { tx: 0, rx: 0 };
    let delivered = 0;

    const pump = (side: Side): void => {
      for (let step = mine[side][sentAt[side].length]; step !== undefined && step.after <= received[side]; ) {
        sentAt[side].push(performance.now());
        clients[side].sendPayload(step.payload);
        step = mine[side][sentAt[side].length];
      }
    };
    for (const side of ['tx', 'rx'] as const) {
      const other: Side = side === 'tx' ? 'rx' : 'tx';
      clients[side].onFailure(reject);
      clients[side].onPayload((payload) => {
        const i = received[side]++;
        const expected = mine[other][i];
        if (expected?.payload !== payload) {
          reject(new Error(`relayed payload ${i} to ${side} is not the one sent`));
          return;
        }
        if (expected.sealed) latencies.push(performance.now() - (sentAt[other][i] ?? Number.NaN));
        if (++delivered === steps.length) resolve();
        else pump(side);
      });
    }
    pump('tx');
    pump('rx');
  });
}
