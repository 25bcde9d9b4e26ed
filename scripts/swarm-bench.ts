/**
 * `npm run bench:swarm`: one file to four getters on 127.0.0.1, three ways in
 * the same run, each timed from the first getter's start to the last one's
 * verified end:
 *
 * 1. swarm: `peer share` once, four `peer get`s at once (getters trade chunks);
 * 2. sequential: four `peer send` / `peer receive` pairs, one after another;
 * 3. simultaneous: four `peer send` / `peer receive` pairs at once (four sender processes).
 *
 * For each: the total time, the sharer's (senders') upload bytes, and each
 * process's CPU seconds and peak RSS (from its final event's `usage`).
 *
 *   npm run bench:swarm                1 GiB
 *   npm run bench:swarm -- --size 64 --json
 */
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { sha256File, writeRandomFile } from '../src/testing/files.js';
import type { EventProcess, SignalHandle } from '../src/testing/harness.js';
import { Harness } from '../src/testing/harness.js';

const args = await yargs(hideBin(process.argv))
  .option('size', { type: 'number', default: 1024, describe: 'File size in MiB' })
  .option('getters', { type: 'number', default: 4, describe: 'Getters (receivers)' })
  .option('json', { type: 'boolean', default: false, describe: 'Figures as JSON on stdout' })
  .strict()
  .parseAsync();

const size = args.size * 1024 * 1024;
const MB = 1e6;
const h = new Harness();
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

interface Usage {
  role: string;
  cpuSeconds: number;
  maxRssBytes: number;
}

interface Way {
  way: string;
  seconds: number;
  /** Bytes the sharer (or the senders together) uploaded. */
  sharerUploadBytes: number;
  processes: Usage[];
}

async function ok(p: EventProcess, what: string): Promise<void> {
  const exit = await p.exit(3_600_000);
  if (exit.code !== 0) throw new Error(`${what} exited ${exit.code}: ${p.stderr}`);
}

async function verify(out: string, expected: string): Promise<void> {
  if ((await sha256File(path.join(out, 'big.bin'))) !== expected) throw new Error(`${out}: differs`);
}

async function swarm(server: SignalHandle, file: string, sha: string): Promise<Way> {
  const sharer = h.peer(['share', file, ...server.peerArgs]);
  const { ticket } = await sharer.waitFor('share-ready', 600_000);
  const outs = await Promise.all(Array.from({ length: args.getters }, () => h.tempDir('peerlane-bench-')));
  const started = Date.now();
  const getters = outs.map((out) => h.peer(['get', ticket, '--out', out, ...server.peerArgs]));
  await Promise.all(getters.map((g, i) => ok(g, `getter ${i + 1}`)));
  const seconds = (Date.now() - started) / 1000;
  await Promise.all(outs.map((out) => verify(out, sha)));
  sharer.kill('SIGINT');
  await ok(sharer, 'sharer');
  const shared = await sharer.waitFor('swarm-done');
  const dones = await Promise.all(getters.map((g) => g.waitFor('swarm-done')));
  return {
    way: 'swarm',
    seconds,
    sharerUploadBytes: shared.uploadedBytes,
    processes: [
      { role: 'sharer', ...shared.usage },
      ...dones.map((d, i) => ({ role: `getter ${i + 1}`, ...d.usage })),
    ],
  };
}

/** One `peer send` / `peer receive` pair: the receiver prints the code. */
async function pair(server: SignalHandle, file: string, sha: string, n: number): Promise<Usage[]> {
  const out = await h.tempDir('peerlane-bench-');
  const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
  const { code } = await rx.waitFor('ready');
  const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
  await Promise.all([ok(tx, `sender ${n}`), ok(rx, `receiver ${n}`)]);
  await verify(out, sha);
  const [sent, got] = await Promise.all([tx.waitFor('done'), rx.waitFor('done')]);
  return [
    { role: `sender ${n}`, ...sent.usage },
    { role: `receiver ${n}`, ...got.usage },
  ];
}

async function sends(server: SignalHandle, file: string, sha: string, together: boolean): Promise<Way> {
  const started = Date.now();
  const processes: Usage[] = [];
  const ns = Array.from({ length: args.getters }, (_, i) => i + 1);
  if (together) {
    for (const usage of await Promise.all(ns.map((n) => pair(server, file, sha, n))))
      processes.push(...usage);
  } else {
    for (const n of ns) processes.push(...(await pair(server, file, sha, n)));
  }
  return {
    way: together ? `${args.getters} simultaneous sends` : `${args.getters} sequential sends`,
    seconds: (Date.now() - started) / 1000,
    // Each sender uploads the whole file once (resumed bytes aside: every --out is fresh).
    sharerUploadBytes: args.getters * size,
    processes,
  };
}

function report(w: Way): void {
  const cpu = w.processes.reduce((n, p) => n + p.cpuSeconds, 0);
  const peak = Math.max(...w.processes.map((p) => p.maxRssBytes));
  log(
    `${w.way.padEnd(22)} ${w.seconds.toFixed(2).padStart(8)} s  sharer upload ${(w.sharerUploadBytes / size).toFixed(2)}× ` +
      `(${(w.sharerUploadBytes / MB).toFixed(0)} MB)  CPU ${cpu.toFixed(1)} s in all  peak RSS ${(peak / MB).toFixed(0)} MB`,
  );
  for (const p of w.processes) {
    log(
      `    ${p.role.padEnd(12)} CPU ${p.cpuSeconds.toFixed(2)} s  peak RSS ${(p.maxRssBytes / MB).toFixed(0)} MB`,
    );
  }
}

try {
  const server = await h.signalProcess();
  const file = path.join(await h.tempDir('peerlane-src-'), 'big.bin');
  await writeRandomFile(file, size);
  const sha = await sha256File(file);
  log(`swarm bench: ${args.size} MiB to ${args.getters} getters on 127.0.0.1`);
  const ways: Way[] = [];
  for (const run of [
    () => swarm(server, file, sha),
    () => sends(server, file, sha, false),
    () => sends(server, file, sha, true),
  ]) {
    const way = await run();
    report(way);
    ways.push(way);
  }
  if (args.json) process.stdout.write(`${JSON.stringify({ size, getters: args.getters, ways })}\n`);
} finally {
  await h.cleanup();
}
