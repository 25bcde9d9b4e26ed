/**
 * `npm run bench:crypto`: what the pure-JS primitives the browser-safe core
 * uses (@noble/hashes SHA-256, @noble/ciphers AES-256-GCM) cost against
 * node:crypto, on file-sized (64 KiB) and signaling-sized messages. The
 * figures decide where each is used: file data is hashed and the direct TCP
 * link is sealed with node:crypto in Node; the signaling payloads (a few
 * hundred bytes, a few dozen per session) are cheap enough for noble warm, so
 * it is the core's default, for the browser. The first seals of a process run
 * cold, which this warmed-up measure hides: the CLI gives the core
 * node:crypto's AES-GCM for those too (core/secure/channel.ts).
 *
 *   npm run bench:crypto               prints a table on stderr
 *   npm run bench:crypto -- --json     the figures on stdout
 */
import crypto from 'node:crypto';
import { gcm } from '@noble/ciphers/aes.js';
import { sha256 } from '@noble/hashes/sha2.js';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

const args = await yargs(hideBin(process.argv))
  .option('ms', { type: 'number', default: 1000, describe: 'Time spent on each measurement' })
  .option('json', { type: 'boolean', default: false, describe: 'Figures as JSON on stdout' })
  .strict()
  .parseAsync();

/** 64 KiB: the transfer's read size, and so what SHA-256 sees per update of file data. */
const LARGE = 64 * 1024;
/** A sealed ICE candidate or keepalive is about this; an SDP offer a few times more. */
const SMALL = 256;

interface Row {
  what: string;
  bytes: number;
  /** Operations per second. */
  ops: number;
  mibPerSecond: number;
}

/** Run `op` for about `ms` milliseconds after a short warm-up; operations per second. */
function rate(op: () => void, ms: number): number {
  for (let i = 0; i < 50; i++) op();
  let count = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 20; i++) op();
    count += 20;
    now = performance.now();
  }
  return (count * 1000) / (now - start);
}

function nodeSeal(key: Uint8Array, nonce: Uint8Array, data: Uint8Array): void {
  const cipher = crypto.createCipheriv('aes-256-gcm', key, nonce);
  cipher.update(data);
  cipher.final();
  cipher.getAuthTag();
}

const key = crypto.randomBytes(32);
const nonce = crypto.randomBytes(12);
const rows: Row[] = [];
for (const bytes of [LARGE, SMALL]) {
  const data = crypto.randomBytes(bytes);
  const cases: [string, () => void][] = [
    ['SHA-256 node:crypto', () => crypto.createHash('sha256').update(data).digest()],
    ['SHA-256 @noble/hashes', () => sha256(data)],
    ['AES-256-GCM seal node:crypto', () => nodeSeal(key, nonce, data)],
    ['AES-256-GCM seal @noble/ciphers', () => gcm(key, nonce).encrypt(data)],
  ];
  for (const [what, op] of cases) {
    const ops = rate(op, args.ms);
    rows.push({ what, bytes, ops: Math.round(ops), mibPerSecond: (ops * bytes) / 2 ** 20 });
  }
}

if (args.json) console.log(JSON.stringify(rows));
const line = (r: Row): string =>
  `${r.what.padEnd(34)} ${String(r.bytes).padStart(6)} B ${String(r.ops).padStart(9)} op/s ${r.mibPerSecond.toFixed(1).padStart(8)} MiB/s`;
console.error(rows.map(line).join('\n'));
