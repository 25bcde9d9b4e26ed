/**
 * `npm run load:signal`: load on the signal server through the real protocol,
 * all on 127.0.0.1. Each pairing is two SignalClients: the receiver registers,
 * the sender joins, they run the PAKE (2 shares, 2 confirmations) and exchange
 * 6 sealed messages (3 pings, 3 pongs): 10 relayed messages, then both close.
 *
 * It runs against one instance, then two instances sharing a redis-server it
 * starts on a free loopback port (receivers on one, senders on the other, so
 * every pairing and relay crosses Redis). The servers are separate processes,
 * so their RSS and CPU are theirs; the generator shares this machine's cores.
 *
 * Per setup: idle clients held at once (RSS), the unpaced pairing rate, and a
 * paced run whose relay latency (one-way, of each sealed message) is reported.
 *
 *   npm run load:signal
 *   npm run load:signal -- --idle 10000 --pairs 5000 --rate 500 --seconds 10 --json
 */
import fs from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { secureHandshake } from '../src/secure/channel.js';
import { generateSecret } from '../src/secure/code.js';
import type { SignalAddress } from '../src/signaling/client.js';
import { SignalClient } from '../src/signaling/client.js';
import type { EventProcess } from '../src/testing/harness.js';
import { Harness, LOOPBACK } from '../src/testing/harness.js';
import { startRedis } from '../src/testing/redis.js';

/** What a generator thread is asked to run, and what it reports. */
interface Job {
  rx: SignalAddress;
  tx: SignalAddress;
  /** Unpaced: this many pairings, `concurrency` at a time. Paced: `rate` per second for `seconds`. */
  pairs?: number;
  concurrency?: number;
  rate?: number;
  seconds?: number;
}
interface JobResult {
  latencies: number[];
  errors: number;
  pairings: number;
  firstError?: string;
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};
const TICKS = 100; // USER_HZ on Linux
const PINGS = 3;

/** No limit of the server may bind a load that comes from one address. */
const OPEN_LIMITS = [
  ...['--max-connections-per-ip', '1000000', '--join-rate', '100000000', '--join-burst', '1000000'],
  ...['--max-nameplates', '500000', '--handshake-timeout', '120', '--idle-timeout', '120'],
];

interface ProcUsage {
  cpuSeconds: number;
  rssMB: number;
}

function usage(pid: number): ProcUsage {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS;
  const rss = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuSeconds, rssMB: Number(rss?.[1] ?? 0) / 1024 };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

const PAIRING_TIMEOUT_MS = 30_000;

/** One pairing through the real protocol, or an error after PAIRING_TIMEOUT_MS. */
function pairing(rxAt: SignalAddress, txAt: SignalAddress, latencies: number[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('pairing timed out')), PAIRING_TIMEOUT_MS);
  });
  const stage = { at: 'connect' };
  return Promise.race([
    pairOnce(rxAt, txAt, latencies, stage),
    timeout.catch((err: Error) => {
      throw new Error(`${err.message} at ${stage.at}`);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Pushes the one-way latency of each sealed message. */
async function pairOnce(
  rxAt: SignalAddress,
  txAt: SignalAddress,
  latencies: number[],
  stage: { at: string },
): Promise<void> {
  const rx = await SignalClient.connect(rxAt);
  let tx: SignalClient | undefined;
  try {
    stage.at = 'register';
    const nameplate = await rx.register();
    stage.at = 'join';
    tx = await SignalClient.connect(txAt);
    const secret = generateSecret();
    const [, rxRole] = await Promise.all([tx.join(nameplate), rx.waitForPeer()]);
    const common = { nameplate, secret, timeoutMs: 30_000 };
    stage.at = 'pake';
    const [a, b] = await Promise.all([
      secureHandshake(tx, { ...common, role: 'offerer', intent: 'send' }),
      secureHandshake(rx, { ...common, role: rxRole, intent: 'receive' }),
    ]);
    stage.at = 'sealed';
    await new Promise<void>((resolve, reject) => {
      let pongs = 0;
      a.onFailure(reject);
      b.onFailure(reject);
      b.onPayload((sent) => {
        latencies.push(performance.now() - Number(sent));
        b.sendPayload(String(performance.now()));
      });
      a.onPayload((sent) => {
        latencies.push(performance.now() - Number(sent));
        if (++pongs === PINGS) resolve();
        else a.sendPayload(String(performance.now()));
      });
      a.sendPayload(String(performance.now()));
    });
  } finally {
    tx?.close();
    rx.close();
  }
}

interface Setup {
  name: string;
  rx: SignalAddress;
  tx: SignalAddress;
  pids: number[];
}

function total(pids: number[]): ProcUsage {
  return pids
    .map(usage)
    .reduce((s, u) => ({ cpuSeconds: s.cpuSeconds + u.cpuSeconds, rssMB: s.rssMB + u.rssMB }));
}

async function idlePhase(setup: Setup, count: number): Promise<Record<string, number>> {
  const before = total(setup.pids);
  const clients: SignalClient[] = [];
  let errors = 0;
  const started = performance.now();
  const batch = 500;
  for (let i = 0; i < count; i += batch) {
    const n = Math.min(batch, count - i);
    await Promise.all(
      Array.from({ length: n }, async (_, k) => {
        try {
          const c = await SignalClient.connect((i + k) % 2 === 0 ? setup.rx : setup.tx);
          clients.push(c);
          await c.register();
        } catch {
          errors++;
        }
      }),
    );
  }
  const seconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 1000));
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

function countError(result: JobResult, err: unknown): void {
  result.errors++;
  const message =
    err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err);
  result.firstError ??= message;
}

async function unpaced(job: Job): Promise<JobResult> {
  const result: JobResult = { latencies: [], errors: 0, pairings: 0 };
  const pairs = job.pairs ?? 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: job.concurrency ?? 1 }, async () => {
      while (next < pairs) {
        next++;
        await pairing(job.rx, job.tx, result.latencies).then(
          () => void result.pairings++,
          (err: unknown) => countError(result, err),
        );
      }
    }),
  );
  return result;
}

async function paced(job: Job): Promise<JobResult> {
  const result: JobResult = { latencies: [], errors: 0, pairings: 0 };
  const rate = job.rate ?? 1;
  const count = Math.round(rate * (job.seconds ?? 1));
  const runs: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / rate - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    runs.push(
      pairing(job.rx, job.tx, result.latencies).then(
        () => void result.pairings++,
        (err: unknown) => countError(result, err),
      ),
    );
  }
  await Promise.all(runs);
  return result;
}

/** Split `job` over the generator threads; the server's CPU and RSS are read around it. */
async function phase(setup: Setup, job: Omit<Job, 'rx' | 'tx'>): Promise<Record<string, number>> {
  const n = Math.max(1, args.threads);
  const share = (x: number | undefined): number | undefined => (x === undefined ? undefined : x / n);
  const before = total(setup.pids);
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const part: Job = { rx: setup.rx, tx: setup.tx, ...job };
      if (job.pairs !== undefined) part.pairs = Math.floor(job.pairs / n) + (i < job.pairs % n ? 1 : 0);
      if (job.concurrency !== undefined) part.concurrency = Math.max(1, Math.round(job.concurrency / n));
      const rate = share(job.rate);
      if (rate !== undefined) part.rate = rate;
      return new Promise<JobResult>((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: part });
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const after = total(setup.pids);
  const latencies = results.flatMap((r) => r.latencies).sort((x, y) => x - y);
  const pairings = results.reduce((s, r) => s + r.pairings, 0);
  const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
  if (firstError !== undefined) log(`  first error: ${firstError}`);
  return {
    pairingsPerSecond: round(pairings / seconds),
    errors: results.reduce((s, r) => s + r.errors, 0),
    relayP50Ms: round(percentile(latencies, 50), 2),
    relayP99Ms: round(percentile(latencies, 99), 2),
    serverCpuPercent: round((100 * (after.cpuSeconds - before.cpuSeconds)) / seconds),
    serverRssMB: round(after.rssMB),
  };
}

function prefixed(prefix: string, figures: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(figures).map(([k, v]) => [`${prefix}.${k}`, v]));
}

async function startSignal(h: Harness, extra: string[]): Promise<{ at: SignalAddress; proc: EventProcess }> {
  const proc = h.spawnScript('signal', [
    '--host',
    LOOPBACK,
    '--port',
    '0',
    '--json',
    '--quiet',
    ...OPEN_LIMITS,
    ...extra,
  ]);
  const { host, port } = await proc.waitFor('listening');
  return { at: { host, port }, proc };
}

async function run(name: string): Promise<Record<string, number | string>> {
  const h = new Harness();
  const redis = name === 'two' ? await startRedis() : undefined;
  try {
    const extra = redis ? ['--redis-url', redis.url] : [];
    const first = await startSignal(h, extra);
    const second = redis ? await startSignal(h, extra) : first;
    const pids = [...new Set([first.proc.child.pid, second.proc.child.pid])].filter(
      (p): p is number => p !== undefined,
    );
    const setup: Setup = { name, rx: first.at, tx: second.at, pids };
    log(`[${name}] ${pids.length} instance(s)${redis ? `, redis on ${redis.url}` : ''}`);
    const idle = args.idle > 0 ? await idlePhase(setup, args.idle) : {};
    log(`[${name}] idle: ${JSON.stringify(idle)}`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const burst = await phase(setup, { pairs: args.pairs, concurrency: args.concurrency });
    log(`[${name}] unpaced: ${JSON.stringify(burst)}`);
    const steady = await phase(setup, { rate: args.rate, seconds: args.seconds });
    log(`[${name}] paced at ${args.rate}/s: ${JSON.stringify(steady)}`);
    return {
      setup: name,
      instances: pids.length,
      ...idle,
      ...prefixed('unpaced', burst),
      ...prefixed('paced', steady),
    };
  } finally {
    await h.cleanup();
    await redis?.stop();
  }
}

if (!isMainThread) {
  const job = workerData as Job;
  const result = job.rate === undefined ? await unpaced(job) : await paced(job);
  parentPort?.postMessage(result);
  process.exit(0);
}

const args = await yargs(hideBin(process.argv))
  .option('idle', { type: 'number', default: 10_000, describe: 'Idle (registered, waiting) clients to hold' })
  .option('pairs', { type: 'number', default: 5_000, describe: 'Pairings in the unpaced run' })
  .option('concurrency', { type: 'number', default: 200, describe: 'Pairings in flight in the unpaced run' })
  .option('rate', { type: 'number', default: 500, describe: 'Pairings per second in the paced run' })
  .option('seconds', { type: 'number', default: 10, describe: 'Length of the paced run' })
  .option('threads', { type: 'number', default: 2, describe: 'Generator threads (the PAKE costs CPU)' })
  .option('setups', { type: 'string', default: 'one,two', describe: 'Which setups: one, two, or both' })
  .option('json', { type: 'boolean', default: false, describe: 'Figures as JSON on stdout' })
  .strict()
  .parseAsync();

const results: Record<string, number | string>[] = [];
for (const name of args.setups.split(',').map((s) => s.trim())) {
  if (name !== 'one' && name !== 'two') throw new Error(`unknown setup ${name}: use one, two`);
  results.push(await run(name));
}
if (args.json) process.stdout.write(`${JSON.stringify(results)}\n`);
else {
  // One row per figure, one column per setup.
  const rows: Record<string, Record<string, number | string | undefined>> = {};
  for (const key of Object.keys(results[0] ?? {})) {
    rows[key] = Object.fromEntries(results.map((r) => [String(r.setup), r[key]]));
  }
  console.table(rows);
}
