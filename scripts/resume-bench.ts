/**
 * `npm run bench:resume`: what an interruption costs, on 127.0.0.1.
 *
 * 1. Across runs: `kill -9` the sender at half the file, then run receive and
 *    send again (a new code). Reports the bytes sent twice (on disk at the
 *    kill, minus what the second run resumed), the time from starting the
 *    second sender to its first new byte (it re-hashes the kept blocks first),
 *    and the second run's whole time.
 * 2. In the session: freeze the receiver (SIGSTOP) at half the file for 12 s,
 *    longer than the 10 s dead-peer timeout. Reports the time from thaw to the
 *    new channel, and the bytes sent twice (the sender's bytes over both
 *    channels, minus the file's size).
 *
 *   npm run bench:resume               1 GiB
 *   npm run bench:resume -- --size 256 --json
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { PeerEvent } from '../src/core/events.js';
import { sha256File, writeRandomFile } from '../src/testing/files.js';
import type { EventProcess, SignalHandle } from '../src/testing/harness.js';
import { Harness } from '../src/testing/harness.js';

const args = await yargs(hideBin(process.argv))
  .option('size', { type: 'number', default: 1024, describe: 'File size in MiB' })
  .option('json', { type: 'boolean', default: false, describe: 'Figures as JSON on stdout' })
  .strict()
  .parseAsync();

const size = args.size * 1024 * 1024;
const FREEZE_MS = 12_000;
const MB = 1e6;
const h = new Harness();
const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

/** The first event of `proc` that passes `test`. */
async function until(proc: EventProcess, test: (e: PeerEvent) => boolean): Promise<PeerEvent> {
  for (;;) {
    const found = proc.events.find(test);
    if (found !== undefined) return found;
    if (proc.child.exitCode !== null) throw new Error(`exited early: ${proc.stderr}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const atHalf = (e: PeerEvent): boolean => e.event === 'progress' && e.bytes >= size / 2;

async function pair(server: SignalHandle, file: string, out: string, extra: string[] = []) {
  const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs, ...extra]);
  const { code } = await rx.waitFor('ready');
  const started = Date.now();
  const tx = h.peer(['send', file, '--to', code, ...server.peerArgs, ...extra]);
  return { rx, tx, started };
}

async function acrossRuns(server: SignalHandle, file: string) {
  const out = await h.tempDir();
  const first = await pair(server, file, out);
  await until(first.rx, atHalf);
  first.tx.kill('SIGKILL');
  await first.rx.exit();
  const onDisk = (await fs.stat(path.join(out, 'big.bin.part'))).size;

  const second = await pair(server, file, out);
  // The sender's first progress event past the resumed prefix: its first new byte.
  await until(second.tx, (e) => e.event === 'progress' && e.fileBytes > 0);
  const firstNewMs = Date.now() - second.started;
  const [txExit, rxExit] = await Promise.all([second.tx.exit(600_000), second.rx.exit(600_000)]);
  if (txExit.code !== 0 || rxExit.code !== 0) throw new Error(`rerun failed: ${second.rx.stderr}`);
  const totalMs = Date.now() - second.started;
  const done = await second.rx.waitFor('done');
  const resumed = done.files[0]?.resumedBytes ?? 0;
  if ((await sha256File(path.join(out, 'big.bin'))) !== (await sha256File(file))) throw new Error('differs');
  return {
    onDiskAtKill: onDisk,
    resumedBytes: resumed,
    resentBytes: onDisk - resumed,
    firstNewMs,
    totalMs,
    rerunMbps: done.mbps,
  };
}

async function inSession(server: SignalHandle, file: string) {
  const out = await h.tempDir();
  const run = await pair(server, file, out);
  await until(run.rx, atHalf);
  run.rx.kill('SIGSTOP');
  await new Promise((r) => setTimeout(r, FREEZE_MS));
  const thawed = Date.now();
  run.rx.kill('SIGCONT');
  // The second `connected`: the new channel.
  await until(
    run.rx,
    (e) => e.event === 'connected' && run.rx.events.some((r) => r.event === 'reconnecting'),
  );
  const reconnectMs = Date.now() - thawed;
  const [txExit, rxExit] = await Promise.all([run.tx.exit(600_000), run.rx.exit(600_000)]);
  if (txExit.code !== 0 || rxExit.code !== 0) throw new Error(`frozen run failed: ${run.rx.stderr}`);
  const done = await run.rx.waitFor('done');
  const sent = await run.tx.waitFor('done');
  const resumed = done.files[0]?.resumedBytes ?? 0;
  if ((await sha256File(path.join(out, 'big.bin'))) !== (await sha256File(file))) throw new Error('differs');
  // The sender's done counts every byte it put on a channel, over both channels.
  return { resumedBytes: resumed, resentBytes: sent.bytes - size, reconnectMs };
}

try {
  const server = await h.signalProcess();
  const file = path.join(await h.tempDir('peerlane-src-'), 'big.bin');
  await writeRandomFile(file, size);
  log(`resume bench: ${args.size} MiB on 127.0.0.1`);
  const runs = await acrossRuns(server, file);
  log(
    `kill -9 at 50%, rerun: ${(runs.onDiskAtKill / MB).toFixed(1)} MB on disk, ` +
      `${(runs.resumedBytes / MB).toFixed(1)} MB resumed, ${(runs.resentBytes / MB).toFixed(2)} MB sent twice; ` +
      `first new byte after ${runs.firstNewMs} ms, rerun done in ${(runs.totalMs / 1000).toFixed(2)} s ` +
      `(${runs.rerunMbps} MB/s)`,
  );
  const session = await inSession(server, file);
  log(
    `frozen 12 s at 50%: new channel ${session.reconnectMs} ms after thaw, ` +
      `${(session.resentBytes / MB).toFixed(2)} MB sent twice`,
  );
  if (args.json) process.stdout.write(`${JSON.stringify({ size, acrossRuns: runs, inSession: session })}\n`);
} finally {
  await h.cleanup();
}
