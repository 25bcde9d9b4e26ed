/**
 * `npm run load:signal`: load on the signal server through the real protocol,
 * all on 127.0.0.1. Each pairing is two SignalClients: the receiver registers,
 * the sender joins, they run the PAKE (2 shares, 2 confirmations) and exchange
 * 6 sealed messages (3 pings, 3 pongs): 10 relayed messages, then both close.
 *
 * Two modes, both reported: `fresh`, where the generator runs both sides'
 * CPace for every pairing (on a small machine its CPU, not the server, is
 * then the limit), and `replay`, where it replays real conversations recorded
 * before the clock starts, one per nameplate (see load/replay.ts): the server
 * sees the same bytes and waits, the generator spares the CPace.
 *
 * It runs against one instance, then two instances sharing a redis-server it
 * starts on a free loopback port (receivers on one, senders on the other, so
 * every pairing and relay crosses Redis). Per setup and mode: idle clients
 * held at once (RSS), the unpaced pairing rate, and a paced run whose relay
 * latency (one-way, of each sealed message) is reported.
 *
 *   npm run load:signal
 *   npm run load:signal -- --modes replay --setups one --idle 0 --rate 500 --json
 *   npm run load:signal -- --profile-dir /tmp/prof   # servers under --cpu-prof
 */
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { SignalAddress } from '../src/signaling/socket.js';
import type { EventProcess } from '../src/testing/harness.js';
import { Harness, LOOPBACK } from '../src/testing/harness.js';
import { startRedis } from '../src/testing/redis.js';
import { round } from './load/measure.js';
import type { Setup } from './load/phases.js';
import { idlePhase, phase } from './load/phases.js';
import type { TranscriptBook } from './load/replay.js';
import { recordBook } from './load/replay.js';
import type { Mode } from './load/worker.js';

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** No limit of the server may bind a load that comes from one address. */
const OPEN_LIMITS = [
  ...['--max-connections-per-ip', '1000000', '--join-rate', '100000000', '--join-burst', '1000000'],
  ...['--max-nameplates', '500000', '--handshake-timeout', '120', '--idle-timeout', '120'],
  ...['--max-connections', '1000000'],
];
/** Time for the server to settle (closed idle clients released) between phases. */
const PAUSE_MS = 1_000;
/** A server stopped to write its CPU profile exits well within this. */
const PROFILE_EXIT_MS = 10_000;

const args = await yargs(hideBin(process.argv))
  .option('idle', { type: 'number', default: 10_000, describe: 'Idle (registered, waiting) clients to hold' })
  .option('pairs', { type: 'number', default: 5_000, describe: 'Pairings in each unpaced run' })
  .option('concurrency', { type: 'number', default: 200, describe: 'Pairings in flight in the unpaced run' })
  .option('rate', {
    type: 'number',
    default: 500,
    describe: "Pairings per second in replay mode's paced run",
  })
  .option('fresh-rate', {
    type: 'number',
    default: 150,
    describe: "Pairings per second in fresh mode's paced run (its CPace caps the generator)",
  })
  .option('seconds', { type: 'number', default: 10, describe: 'Length of the paced run' })
  .option('spread', {
    choices: ['cross', 'random'] as const,
    default: 'cross' as const,
    describe:
      'Two instances: cross puts every receiver on one and every sender on the other; random picks per client, as a load balancer would',
  })
  .option('threads', { type: 'number', default: 2, describe: 'Generator threads' })
  .option('setups', { type: 'string', default: 'one,two', describe: 'Which setups: one, two, or both' })
  .option('modes', {
    type: 'string',
    default: 'fresh,replay',
    describe: 'fresh: the generator runs every PAKE; replay: it replays recorded ones',
  })
  .option('profile-dir', {
    type: 'string',
    describe: 'Run the servers under node --cpu-prof, writing .cpuprofile files here',
  })
  .option('json', { type: 'boolean', default: false, describe: 'Figures as JSON on stdout' })
  .strict()
  .parseAsync();

function listOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(',').map((s) => s.trim());
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new Error(`unknown ${flag} ${item}: use ${allowed.join(', ')}`);
  }
  return items as T[];
}

async function startSignal(h: Harness, extra: string[]): Promise<{ at: SignalAddress; proc: EventProcess }> {
  const argv = ['--host', LOOPBACK, '--port', '0', '--json', '--quiet', ...OPEN_LIMITS, ...extra];
  const profile = args['profile-dir'];
  // node refuses --cpu-prof in NODE_OPTIONS, so a profiled server is spawned by hand.
  const proc =
    profile === undefined
      ? h.spawnScript('signal', argv)
      : h.spawnCommand(process.execPath, [
          '--cpu-prof',
          `--cpu-prof-dir=${profile}`,
          fileURLToPath(new URL('../src/signal.js', import.meta.url)),
          ...argv,
        ]);
  const { host, port } = await proc.waitFor('listening');
  return { at: { host, port }, proc };
}

function prefixed(prefix: string, figures: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(figures).map(([k, v]) => [`${prefix}.${k}`, v]));
}

const pause = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, PAUSE_MS));

async function run(
  name: 'one' | 'two',
  modes: Mode[],
  book: TranscriptBook,
): Promise<Record<string, number | string>> {
  const h = new Harness();
  const redis = name === 'two' ? await startRedis() : undefined;
  try {
    const extra = redis ? ['--redis-url', redis.url] : [];
    const first = await startSignal(h, extra);
    const second = redis ? await startSignal(h, extra) : first;
    const procs = [...new Set([first.proc, second.proc])];
    const pids = procs.map((p) => p.child.pid).filter((p): p is number => p !== undefined);
    const setup: Setup = { name, rx: first.at, tx: second.at, pids };
    if (redis?.process.pid !== undefined) setup.redisPid = redis.process.pid;
    log(`[${name}] ${pids.length} instance(s)${redis ? `, redis on ${redis.url}` : ''}`);
    const idle = args.idle > 0 ? await idlePhase(setup, args.idle) : {};
    log(`[${name}] idle: ${JSON.stringify(idle)}`);
    const figures: Record<string, number | string> = { setup: name, instances: pids.length, ...idle };
    for (const mode of modes) {
      await pause();
      const burst = await phase(setup, args.threads, {
        mode,
        spread: args.spread,
        book,
        pairs: args.pairs,
        concurrency: args.concurrency,
      });
      log(`[${name}] ${mode} unpaced: ${JSON.stringify(burst)}`);
      await pause();
      // Paced beyond what the generator can run, a run measures only the generator's backlog.
      const rate = mode === 'fresh' ? args['fresh-rate'] : args.rate;
      const steady = await phase(setup, args.threads, {
        mode,
        spread: args.spread,
        book,
        rate,
        seconds: args.seconds,
      });
      log(`[${name}] ${mode} paced at ${rate}/s: ${JSON.stringify(steady)}`);
      Object.assign(figures, prefixed(`${mode}.unpaced`, burst), prefixed(`${mode}.paced`, steady));
    }
    if (args['profile-dir'] !== undefined) {
      // SIGTERM stops the server cleanly, which is when node writes the profile.
      for (const p of procs) p.kill('SIGTERM');
      await Promise.all(procs.map((p) => p.exit(PROFILE_EXIT_MS)));
    }
    return figures;
  } finally {
    await h.cleanup();
    await redis?.stop();
  }
}

const modes = listOf('mode', args.modes, ['fresh', 'replay'] as const);
let book: TranscriptBook = {};
if (modes.includes('replay')) {
  const started = performance.now();
  book = await recordBook(args.threads);
  const seconds = round((performance.now() - started) / 1000);
  log(`recorded ${Object.keys(book).length} real pairings (one per nameplate) in ${seconds} s`);
}
const results: Record<string, number | string>[] = [];
for (const name of listOf('setup', args.setups, ['one', 'two'] as const)) {
  results.push(await run(name, modes, book));
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
