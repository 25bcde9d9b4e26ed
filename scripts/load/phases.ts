/**
 * The measured phases of one setup (one instance, or two sharing Redis): idle
 * clients held at once, and pairings run by generator threads. The servers
 * are separate processes, so their CPU and RSS are theirs; the generator's
 * CPU (this process, all its threads) is reported beside them, since both
 * share the machine's cores.
 */
import { Worker } from 'node:worker_threads';
import type { SignalClient } from '../../src/core/signaling/client.js';
import type { SignalAddress } from '../../src/signaling/socket.js';
import { connectSignal } from '../../src/signaling/socket.js';
import { cpuPercent, loadAverage, percentile, round, total, usage } from './measure.js';
import type { Job, JobResult } from './worker.js';

export interface Setup {
  name: string;
  rx: SignalAddress;
  tx: SignalAddress;
  /** The signal server processes. */
  pids: number[];
  /** The redis-server they share, if any: its CPU is part of the cost of scaling out. */
  redisPid?: number;
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** Connections opened at once while filling the idle phase: enough to be quick, few enough not to trip accept backlogs. */
const IDLE_BATCH = 500;
/** Time for the server's memory to settle before RSS is read. */
const SETTLE_MS = 1_000;

/** `count` clients registered and waiting, held at once: what they cost the server. */
export async function idlePhase(setup: Setup, count: number): Promise<Record<string, number>> {
  const before = total(setup.pids);
  const clients: SignalClient[] = [];
  let errors = 0;
  const started = performance.now();
  for (let i = 0; i < count; i += IDLE_BATCH) {
    const n = Math.min(IDLE_BATCH, count - i);
    await Promise.all(
      Array.from({ length: n }, async (_, k) => {
        try {
          const c = await connectSignal((i + k) % 2 === 0 ? setup.rx : setup.tx);
          clients.push(c);
          await c.register();
        } catch {
          errors++;
        }
      }),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const held = total(setup.pids);
  for (const c of clients) c.close();
  return {
    idleClients: clients.length,
    idleErrors: errors,
    idleSetupSeconds: round(seconds),
    idleServerRssMB: round(held.rssMB),
    idleServerRssDeltaMB: round(held.rssMB - before.rssMB),
  };
}

function startWorker(job: Job): { worker: Worker; ready: Promise<void>; done: Promise<JobResult> } {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const done = new Promise<JobResult>((resolve, reject) => {
    worker.on('message', (m: 'ready' | JobResult) => (m === 'ready' ? markReady() : resolve(m)));
    worker.once('error', reject);
  });
  return { worker, ready, done };
}

/** Split `job` over `threads` generator threads, start them together, and sum up. */
export async function phase(
  setup: Setup,
  threads: number,
  job: Omit<Job, 'rx' | 'tx'>,
): Promise<Record<string, number>> {
  const n = Math.max(1, threads);
  const workers = Array.from({ length: n }, (_, i) => {
    const part: Job = { rx: setup.rx, tx: setup.tx, ...job };
    if (job.pairs !== undefined) part.pairs = Math.floor(job.pairs / n) + (i < job.pairs % n ? 1 : 0);
    if (job.concurrency !== undefined) part.concurrency = Math.max(1, Math.round(job.concurrency / n));
    if (job.rate !== undefined) part.rate = job.rate / n;
    return startWorker(part);
  });
  await Promise.all(workers.map((w) => w.ready));
  const load = loadAverage();
  const redis = setup.redisPid === undefined ? [] : [setup.redisPid];
  const before = total(setup.pids);
  const redisBefore = redis.length > 0 ? total(redis) : undefined;
  const generatorBefore = usage(process.pid);
  const started = performance.now();
  for (const w of workers) w.worker.postMessage('go');
  const results = await Promise.all(workers.map((w) => w.done));
  const seconds = (performance.now() - started) / 1000;
  const after = total(setup.pids);
  const redisAfter = redis.length > 0 ? total(redis) : undefined;
  const generatorAfter = usage(process.pid);
  const latencies = results.flatMap((r) => r.latencies).sort((x, y) => x - y);
  const pairings = results.reduce((s, r) => s + r.pairings, 0);
  const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
  if (firstError !== undefined) log(`  first error: ${firstError}`);
  return {
    pairingsPerSecond: round(pairings / seconds),
    errors: results.reduce((s, r) => s + r.errors, 0),
    relayP50Ms: round(percentile(latencies, 50), 2),
    relayP99Ms: round(percentile(latencies, 99), 2),
    serverCpuPercent: cpuPercent(before, after, seconds),
    // CPU time per pairing holds up better than rates when other work shares the cores.
    serverCpuMsPerPairing: round((1000 * (after.cpuSeconds - before.cpuSeconds)) / Math.max(1, pairings), 3),
    ...(redisBefore && redisAfter ? { redisCpuPercent: cpuPercent(redisBefore, redisAfter, seconds) } : {}),
    generatorCpuPercent: cpuPercent(generatorBefore, generatorAfter, seconds),
    serverRssMB: round(after.rssMB),
    lateTranscripts: results.reduce((s, r) => s + r.lateTranscripts, 0),
    loadAverageBefore: load,
  };
}
