/**
 * `npm run demo`: the whole job on loopback, with nothing configured.
 * Starts a signal server, then a receiver and a sender as separate processes,
 * sends a generated file, checks it arrived identical, and prints the rate.
 */
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { formatBytes } from '../src/cli/output.js';
import { sha256File, writeRandomFile } from '../src/testing/files.js';
import { Harness } from '../src/testing/harness.js';

const args = await yargs(hideBin(process.argv))
  .option('mib', { type: 'number', default: 64, describe: 'Size of the generated file, in MiB' })
  .strict()
  .parseAsync();

const h = new Harness();
const say = (label: string, text: string): void => {
  process.stdout.write(`  ${label.padEnd(14)} ${text}\n`);
};

async function main(): Promise<boolean> {
  process.stdout.write('peerlane demo: signal server, receiver and sender on 127.0.0.1\n');
  const work = await h.tempDir('peerlane-demo-');
  const file = path.join(work, 'demo.bin');
  const out = path.join(work, 'received');
  const size = Math.round(args.mib * 1024 * 1024);
  await writeRandomFile(file, size);

  const server = await h.signalProcess();
  say('signal server', `listening on ${server.host}:${server.port}`);
  const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
  const { code } = await rx.waitFor('ready');
  say('receiver', `waiting, code ${code}`);
  say('sender', `peer send demo.bin --to ${code}  (${formatBytes(size)})`);
  const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
  const [rxExit, txExit] = await Promise.all([rx.exit(), tx.exit()]);
  if (rxExit.code !== 0 || txExit.code !== 0) {
    process.stderr.write(`demo failed:\n--- receiver\n${rx.stderr}\n--- sender\n${tx.stderr}\n`);
    return false;
  }
  const connected = await tx.waitFor('connected');
  const over = connected.transport === 'tcp' ? 'TCP' : 'the WebRTC data channel';
  say('connected', `${connected.path}, over ${over} (${connected.local} -> ${connected.remote})`);
  const done = await rx.waitFor('done');
  const [expected, actual] = await Promise.all([sha256File(file), sha256File(path.join(out, 'demo.bin'))]);
  if (expected !== actual || done.files[0]?.sha256 !== expected) {
    process.stderr.write(`demo failed: SHA-256 differs (${expected} vs ${actual})\n`);
    return false;
  }
  say('verified', `SHA-256 ${expected.slice(0, 16)}… identical on both ends`);
  say(
    'throughput',
    `${formatBytes(done.bytes)} in ${done.seconds.toFixed(2)} s = ${done.mbps.toFixed(1)} MB/s`,
  );
  return true;
}

let ok = false;
try {
  ok = await main();
} catch (err) {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
} finally {
  await h.cleanup();
}
process.exit(ok ? 0 : 1);
