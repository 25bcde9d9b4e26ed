/**
 * `npm run bench`: peerlane's verified disk-to-disk throughput against a
 * baseline measured in the same run — the same file over one plain TCP socket
 * between two Node processes, SHA-256 on the receiving side.
 *
 * peerlane runs three times per round: as it runs by default (on loopback the
 * direct TCP path wins the race), kept on the data channel
 * (`--transport webrtc`), which is what peers behind NATs get, and through
 * the signal server's relay (`--transport relay`), what peers on networks
 * that block UDP get; for that one the signal server's CPU per GiB is shown.
 *
 * A further variant, the data channel alone memory to memory (rtc-baseline.ts),
 * shows what libdatachannel costs before peerlane does any work, and with the
 * baseline gives a bound no transfer over it can pass on this many cores.
 *
 * All run as separate processes on 127.0.0.1 and share this machine's cores,
 * so absolute figures are noisy; the peerlane/baseline ratios are the figures
 * that count. Prints a table on stderr; `--json` prints the figures on stdout.
 *
 *   npm run bench                 1 GiB, 3 runs
 *   npm run bench -- --big        4 GiB
 *   npm run bench -- --size 256 --runs 5 --json
 *   npm run bench -- --also /tmp/base    and another build, run alternately
 *
 * `--also DIR` runs a second build of peerlane (a package root holding its
 * own dist/peer.mjs, e.g. the previous commit built elsewhere) in the same
 * rounds, alternating with this one, and prints this build against it: the
 * way to check that a change costs no throughput or CPU.
 *
 * `--isolate` does the same with this build run with `--isolate`: what running
 * each connection attempt and its transfer in a child process costs (the
 * figures include the child's CPU).
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { packageRoot } from '../src/project.js';
import { sha256File, writeRandomFile } from '../src/testing/files.js';
import type { EventProcess } from '../src/testing/harness.js';
import { Harness } from '../src/testing/harness.js';
import { processCpuSeconds } from '../src/testing/proc-cpu.js';

const args = await yargs(hideBin(process.argv))
  .option('size', { type: 'number', default: 1024, describe: 'File size in MiB' })
  .option('big', { type: 'boolean', default: false, describe: 'Use 4 GiB' })
  .option('runs', { type: 'number', default: 3, describe: 'Runs of each' })
  .option('json', { type: 'boolean', default: false, describe: 'Figures as JSON on stdout' })
  .option('also', { type: 'string', describe: 'Another build (package root) to run alternately and compare' })
  .option('isolate', {
    type: 'boolean',
    default: false,
    describe: 'Compare with this build run with --isolate, alternately (instead of --also)',
  })
  .strict()
  .parseAsync();

const GIB = 1024 ** 3;
const size = (args.big ? 4096 : args.size) * 1024 * 1024;
const h = new Harness();
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

interface Usage {
  cpuSeconds: number;
  maxRssBytes: number;
}
interface Run {
  mbps: number;
  senderCpuPerGiB: number;
  receiverCpuPerGiB: number;
  senderRssMB: number;
  receiverRssMB: number;
  /** From spawning the sender to its first byte on the wire (peerlane only). */
  firstByteMs?: number;
  /** Full (mark-compact) GCs per GiB (peerlane only): see gc-count.ts. */
  senderMajorGcPerGiB?: number;
  receiverMajorGcPerGiB?: number;
}

/** The first JSON line on `proc`'s stdout matching `pick`. */
async function line<T>(
  proc: EventProcess,
  pick: (o: Record<string, unknown>) => boolean,
  timeoutMs = 600_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const found = (proc.events as unknown as Record<string, unknown>[]).find(pick);
    if (found) return found as T;
    if (proc.child.exitCode !== null) throw new Error(`process exited: ${proc.stderr}`);
    if (Date.now() - started > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

const done = (o: Record<string, unknown>): boolean => o.event === 'done';

function figures(bytes: number, seconds: number, tx: Usage, rx: Usage): Run {
  const gib = bytes / GIB;
  return {
    mbps: bytes / 1e6 / seconds,
    senderCpuPerGiB: tx.cpuSeconds / gib,
    receiverCpuPerGiB: rx.cpuSeconds / gib,
    senderRssMB: tx.maxRssBytes / 1e6,
    receiverRssMB: rx.maxRssBytes / 1e6,
  };
}

/** `run`, once more if it fails: on a loaded machine one transfer may time out, and the figures are per run. */
async function again(run: () => Promise<Run>): Promise<Run> {
  try {
    return await run();
  } catch (err) {
    log(`  (a run failed, once more: ${(err as Error).message.split('\n')[0]})`);
    return run();
  }
}

/** Counts each peer's full GCs (gc-count.ts). */
const GC_COUNT = path.join(packageRoot(), 'dist', 'scripts', 'gc-count.js');

/** A `peer` of this build, or with `root`, of the build there. */
function peer(args: string[], root: string | undefined): EventProcess {
  const bin = path.join(root ?? packageRoot(), 'dist', 'peer.mjs');
  return h.spawnCommand(process.execPath, ['--import', GC_COUNT, bin, ...args, '--json']);
}

/** The full GCs a peer reported at exit (gc-count.ts), or NaN. */
function majorGcs(proc: EventProcess): number {
  const found = /^gc-major (\d+)$/m.exec(proc.stderr);
  return found ? Number(found[1]) : Number.NaN;
}

async function peerlaneRun(
  file: string,
  expected: string,
  peerArgs: string[],
  out: string,
  root?: string,
): Promise<Run> {
  // Nothing left from a failed run: it would be resumed, not sent.
  await fs.rm(out, { recursive: true, force: true });
  const rx = peer(['receive', '--out', out, '--yes', '--quiet', ...peerArgs], root);
  const { code } = await rx.waitFor('ready');
  const spawned = Date.now();
  const tx = peer(['send', file, '--to', code, '--quiet', ...peerArgs], root);
  await tx.waitFor('progress', 60_000);
  const firstByteMs = Date.now() - spawned;
  const [rxExit, txExit] = await Promise.all([rx.exit(600_000), tx.exit(600_000)]);
  if (rxExit.code !== 0 || txExit.code !== 0) {
    const errors = [...rx.events, ...tx.events].filter((e) => e.event === 'error');
    throw new Error(
      `peerlane${root ? ` (${root})` : ''} failed: exit ${rxExit.code}/${txExit.code} ${JSON.stringify(errors)}\n${rx.stderr}\n${tx.stderr}`,
    );
  }
  const r = await rx.waitFor('done');
  const t = await tx.waitFor('done');
  if (r.files[0]?.sha256 !== expected) throw new Error('peerlane: SHA-256 differs');
  await fs.rm(out, { recursive: true, force: true });
  const gib = r.bytes / GIB;
  return {
    ...figures(r.bytes, r.seconds, t.usage, r.usage),
    firstByteMs,
    senderMajorGcPerGiB: majorGcs(tx) / gib,
    receiverMajorGcPerGiB: majorGcs(rx) / gib,
  };
}

async function baselineRun(file: string, expected: string, out: string): Promise<Run> {
  const script = path.join(packageRoot(), 'dist', 'scripts', 'tcp-baseline.js');
  const rx = h.spawnCommand(process.execPath, [script, 'recv', out]);
  const { port } = await line<{ port: number }>(rx, (o) => typeof o.port === 'number');
  const tx = h.spawnCommand(process.execPath, [script, 'send', file, String(port)]);
  const r = await line<{ bytes: number; seconds: number; sha256: string; usage: Usage }>(rx, done);
  const t = await line<{ usage: Usage }>(tx, done);
  if (r.sha256 !== expected) throw new Error('baseline: SHA-256 differs');
  await fs.rm(out, { force: true });
  return figures(r.bytes, r.seconds, t.usage, r.usage);
}

/** The data channel alone, memory to memory (rtc-baseline.ts): the floor libdatachannel sets. */
async function floorRun(): Promise<Run> {
  const script = path.join(packageRoot(), 'dist', 'scripts', 'rtc-baseline.js');
  const rx = h.spawnCommand(process.execPath, [script, 'recv', String(size)]);
  const { port } = await line<{ port: number }>(rx, (o) => typeof o.port === 'number');
  const tx = h.spawnCommand(process.execPath, [script, 'send', String(size), String(port)]);
  const r = await line<{ bytes: number; seconds: number; usage: Usage }>(rx, done);
  const t = await line<{ usage: Usage }>(tx, done);
  return figures(r.bytes, r.seconds, t.usage, r.usage);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function summary(runs: Run[]) {
  const of = (k: keyof Run) => runs.map((r) => r[k]).filter((x): x is number => x !== undefined);
  const stat = (k: keyof Run) => ({
    median: median(of(k)),
    min: Math.min(...of(k)),
    max: Math.max(...of(k)),
  });
  return {
    mbps: stat('mbps'),
    senderCpuPerGiB: stat('senderCpuPerGiB'),
    receiverCpuPerGiB: stat('receiverCpuPerGiB'),
    senderRssMB: stat('senderRssMB'),
    receiverRssMB: stat('receiverRssMB'),
    ...(of('firstByteMs').length > 0 ? { firstByteMs: stat('firstByteMs') } : {}),
    senderMajorGcPerGiB: stat('senderMajorGcPerGiB'),
    receiverMajorGcPerGiB: stat('receiverMajorGcPerGiB'),
  };
}

type Summary = ReturnType<typeof summary>;

/** This build against the --also build (or --isolate), both ways of sending: medians and this/that ratios. */
function compare(p: Summary, w: Summary, op: Summary, ow: Summary, what: string) {
  const keys = [
    'mbps',
    'senderCpuPerGiB',
    'receiverCpuPerGiB',
    'senderMajorGcPerGiB',
    'receiverMajorGcPerGiB',
    'firstByteMs',
  ] as const;
  const labels = {
    mbps: 'MB/s verified',
    senderCpuPerGiB: 'sender CPU-s/GiB',
    receiverCpuPerGiB: 'receiver CPU-s/GiB',
    senderMajorGcPerGiB: 'sender full GCs/GiB',
    receiverMajorGcPerGiB: 'receiver full GCs/GiB',
    firstByteMs: 'first byte ms',
  };
  const figures: Record<string, { this: number; also: number; ratio: number }> = {};
  log('');
  log(`  this build against ${what}:        this      also   this/also`);
  for (const [way, mine, theirs] of [['default', p, op] as const, ['webrtc', w, ow] as const]) {
    for (const k of keys) {
      const a = mine[k]?.median ?? 0;
      const o = theirs[k]?.median ?? 0;
      figures[`${way}.${k}`] = { this: a, also: o, ratio: Math.round((a / o) * 1000) / 1000 };
      log(
        `  ${`${way} ${labels[k]}`.padEnd(34)} ${a.toFixed(2).padStart(8)}  ${o.toFixed(2).padStart(8)}  ${(a / o).toFixed(3).padStart(8)}`,
      );
    }
  }
  return figures;
}

try {
  const work = await h.tempDir('peerlane-bench-');
  const file = path.join(work, 'bench.bin');
  log(`peerlane bench: ${(size / GIB).toFixed(2)} GiB, ${args.runs} runs each, on 127.0.0.1`);
  await writeRandomFile(file, size);
  const expected = await sha256File(file);
  const server = await h.signalProcess(['--relay-enabled']);
  const serverPid = server.process.child.pid ?? 0;
  const peerlane: Run[] = [];
  /** The same transfer kept on the data channel (--transport webrtc): what a NATed pair gets. */
  const webrtc: Run[] = [];
  /** Through the signal server's relay (--transport relay), with the server's CPU per GiB. */
  const relayed: Run[] = [];
  const serverCpuPerGiB: number[] = [];
  const baseline: Run[] = [];
  const floor: Run[] = [];
  /** The same two transfers by the build given with --also. */
  const other: Run[] = [];
  const otherWebrtc: Run[] = [];
  const out = path.join(work, 'out');
  const webrtcArgs = [...server.peerArgs, '--transport', 'webrtc'];
  /** Both ways of sending, by this build or (`root`) the --also one. */
  const pair = async (
    root: string | undefined,
    into: [Run[], Run[]],
    extra: string[] = [],
  ): Promise<void> => {
    into[0].push(await again(() => peerlaneRun(file, expected, [...server.peerArgs, ...extra], out, root)));
    into[1].push(await again(() => peerlaneRun(file, expected, [...webrtcArgs, ...extra], out, root)));
  };
  /** The other side of the comparison: the --also build, or this one with --isolate. */
  const otherPair = async (): Promise<void> => {
    if (args.also !== undefined) await pair(args.also, [other, otherWebrtc]);
    else if (args.isolate) await pair(undefined, [other, otherWebrtc], ['--isolate']);
  };
  const comparing = args.also !== undefined || args.isolate;
  for (let i = 0; i < args.runs; i++) {
    // Alternate, so drift in the machine's load hits all alike; the two builds
    // also swap places each round, so neither always follows the baselines.
    baseline.push(await baselineRun(file, expected, path.join(work, 'tcp.out')));
    floor.push(await floorRun());
    if (i % 2 === 1) await otherPair();
    await pair(undefined, [peerlane, webrtc]);
    const cpu0 = await processCpuSeconds(serverPid);
    relayed.push(
      await again(() => peerlaneRun(file, expected, [...server.peerArgs, '--transport', 'relay'], out)),
    );
    serverCpuPerGiB.push(((await processCpuSeconds(serverPid)) - cpu0) / (size / GIB));
    if (i % 2 === 0) await otherPair();
    if (comparing) {
      log(
        `  run ${i + 1}: ${args.also !== undefined ? '--also' : '--isolate'} ${other[i]?.mbps.toFixed(0)} MB/s, over the data channel ${otherWebrtc[i]?.mbps.toFixed(0)} MB/s`,
      );
    }
    log(
      `  run ${i + 1}: peerlane ${peerlane[i]?.mbps.toFixed(0)} MB/s, over the data channel ${webrtc[i]?.mbps.toFixed(0)} MB/s, tcp ${baseline[i]?.mbps.toFixed(0)} MB/s, data channel alone ${floor[i]?.mbps.toFixed(0)} MB/s`,
    );
  }
  const p = summary(peerlane);
  const w = summary(webrtc);
  const b = summary(baseline);
  const f = summary(floor);
  // Both peers share the machine's cores, so no transfer over this data
  // channel can go faster than the cores divided by the CPU the channel alone
  // needs per byte, before any disk or SHA-256 work.
  const cores = os.availableParallelism();
  const channelCpuPerGiB = f.senderCpuPerGiB.median + f.receiverCpuPerGiB.median;
  const boundMbps = Math.round((cores / channelCpuPerGiB) * (GIB / 1e6));
  const ratio = {
    mbps: Math.round((p.mbps.median / b.mbps.median) * 100) / 100,
    senderCpuPerGiB: Math.round((p.senderCpuPerGiB.median / b.senderCpuPerGiB.median) * 100) / 100,
    receiverCpuPerGiB: Math.round((p.receiverCpuPerGiB.median / b.receiverCpuPerGiB.median) * 100) / 100,
  };
  const row = (
    label: string,
    pv: { median: number; min: number; max: number },
    bv?: { median: number },
    digits = 1,
  ) =>
    `  ${label.padEnd(22)} ${pv.median.toFixed(digits).padStart(8)} (${pv.min.toFixed(digits)}–${pv.max.toFixed(digits)})` +
    (bv
      ? `   tcp ${bv.median.toFixed(digits).padStart(8)}   ratio ${(pv.median / bv.median).toFixed(2)}`
      : '');
  log('');
  log('  figure                   peerlane median (range)      baseline        peerlane/baseline');
  log(row('MB/s verified', p.mbps, b.mbps, 0));
  log(row('sender CPU-s/GiB', p.senderCpuPerGiB, b.senderCpuPerGiB, 2));
  log(row('receiver CPU-s/GiB', p.receiverCpuPerGiB, b.receiverCpuPerGiB, 2));
  log(row('sender peak RSS MB', p.senderRssMB, b.senderRssMB, 0));
  log(row('receiver peak RSS MB', p.receiverRssMB, b.receiverRssMB, 0));
  if (p.firstByteMs) log(row('first byte ms', p.firstByteMs, undefined, 0));
  log(row('sender full GCs/GiB', p.senderMajorGcPerGiB, undefined, 0));
  log(row('receiver full GCs/GiB', p.receiverMajorGcPerGiB, undefined, 0));
  log('');
  log('  peerlane kept on the data channel (--transport webrtc):');
  log(row('MB/s verified', w.mbps, b.mbps, 0));
  log(row('sender CPU-s/GiB', w.senderCpuPerGiB, b.senderCpuPerGiB, 2));
  log(row('receiver CPU-s/GiB', w.receiverCpuPerGiB, b.receiverCpuPerGiB, 2));
  log(row('sender full GCs/GiB', w.senderMajorGcPerGiB, undefined, 0));
  log(row('receiver full GCs/GiB', w.receiverMajorGcPerGiB, undefined, 0));
  log('');
  const rl = summary(relayed);
  const serverCpu = [...serverCpuPerGiB].sort((x, y) => x - y)[Math.floor(serverCpuPerGiB.length / 2)] ?? 0;
  log("  through the signal server's relay (--transport relay), all on this machine:");
  log(row('MB/s verified', rl.mbps, b.mbps, 0));
  log(row('sender CPU-s/GiB', rl.senderCpuPerGiB, b.senderCpuPerGiB, 2));
  log(row('receiver CPU-s/GiB', rl.receiverCpuPerGiB, b.receiverCpuPerGiB, 2));
  log(`  signal server CPU-s/GiB relayed: ${serverCpu.toFixed(2)} (median)`);
  log('');
  log('  the data channel alone, memory to memory (no disk, hash or framing):');
  log(row('MB/s', f.mbps, undefined, 0));
  log(row('sender CPU-s/GiB', f.senderCpuPerGiB, undefined, 2));
  log(row('receiver CPU-s/GiB', f.receiverCpuPerGiB, undefined, 2));
  log(
    `  bound on ${cores} cores: ${boundMbps} MB/s (${cores} / ${channelCpuPerGiB.toFixed(2)} CPU-s per GiB of the data channel alone, both sides)`,
  );
  const what = args.also !== undefined ? `--also ${args.also}` : 'itself with --isolate';
  const also = comparing ? compare(p, w, summary(other), summary(otherWebrtc), what) : undefined;
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ bytes: size, runs: args.runs, peerlane: p, webrtc: w, relay: { ...rl, serverCpuPerGiB: serverCpu }, baseline: b, dataChannel: f, ratio, boundMbps, ...(also ? { also } : {}) })}\n`,
    );
  }
} finally {
  await h.cleanup();
}
