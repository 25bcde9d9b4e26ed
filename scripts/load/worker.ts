/**
 * A generator thread: runs its share of a phase's pairings, either unpaced
 * (`pairs` of them, `concurrency` at a time) or paced (`rate` per second for
 * `seconds`), and posts the latencies and errors back. It says `ready` once
 * set up (transcripts received) and starts on `go`, so that all threads start
 * together and their start-up is outside the measured time.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { SignalAddress } from '../../src/signaling/socket.js';
import { fresh } from './conversation.js';
import type { Converse } from './pairing.js';
import { pairing } from './pairing.js';
import type { TranscriptBook } from './replay.js';
import { replay } from './replay.js';

/** `fresh`: the generator runs the PAKE of every pairing. `replay`: it replays recorded ones. */
export type Mode = 'fresh' | 'replay';

export interface Job {
  rx: SignalAddress;
  tx: SignalAddress;
  /**
   * `cross`: every receiver on rx, every sender on tx (with two instances,
   * every pairing crosses Redis: the worst case). `random`: each client picks
   * one of the two, as behind a load balancer (half the pairings cross).
   */
  spread?: 'cross' | 'random';
  mode: Mode;
  /** Replay mode: recorded pairings by nameplate. */
  book?: TranscriptBook;
  pairs?: number;
  concurrency?: number;
  rate?: number;
  seconds?: number;
}

export interface JobResult {
  latencies: number[];
  errors: number;
  pairings: number;
  /** Replay mode: pairings whose nameplate had no recording, recorded during the run. */
  lateTranscripts: number;
  firstError?: string;
}

/** Where this pairing's receiver and sender connect. */
function ends(job: Job): [SignalAddress, SignalAddress] {
  if (job.spread !== 'random') return [job.rx, job.tx];
  const pick = (): SignalAddress => (Math.random() < 0.5 ? job.rx : job.tx);
  return [pick(), pick()];
}

function countError(result: JobResult, err: unknown): void {
  result.errors++;
  const message =
    err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err);
  result.firstError ??= message;
}

async function unpaced(job: Job, converse: Converse, result: JobResult): Promise<void> {
  const pairs = job.pairs ?? 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: job.concurrency ?? 1 }, async () => {
      while (next < pairs) {
        next++;
        await pairing(...ends(job), converse, result.latencies).then(
          () => void result.pairings++,
          (err: unknown) => countError(result, err),
        );
      }
    }),
  );
}

async function paced(job: Job, converse: Converse, result: JobResult): Promise<void> {
  const rate = job.rate ?? 1;
  const count = Math.round(rate * (job.seconds ?? 1));
  const runs: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    runs.push(
      pairing(...ends(job), converse, result.latencies).then(
        () => void result.pairings++,
        (err: unknown) => countError(result, err),
      ),
    );
  }
  await Promise.all(runs);
}

if (!isMainThread && parentPort !== null) {
  const port = parentPort;
  const job = workerData as Job;
  const result: JobResult = { latencies: [], errors: 0, pairings: 0, lateTranscripts: 0 };
  const late = { count: 0 };
  const converse = job.mode === 'replay' ? replay(job.book ?? {}, late) : fresh;
  port.once('message', async () => {
    await (job.rate === undefined ? unpaced(job, converse, result) : paced(job, converse, result));
    result.lateTranscripts = late.count;
    port.postMessage(result);
    process.exit(0);
  });
  port.postMessage('ready');
}
