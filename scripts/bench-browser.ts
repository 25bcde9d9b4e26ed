/**
 * `npm run bench:browser`: the page in Chromium against the CLI on loopback,
 * with the CLI-to-CLI figure from the same run (both over the data channel,
 * at the SCTP MTU a CLI uses towards a page on loopback, 2048, the most a
 * browser takes; and at the 4096 it uses towards another CLI):
 *
 * - the transport's ceiling: the same number of bytes each way between a tab
 *   and node-datachannel over one data channel, in the page's message size
 *   (256 KiB) under the engines' backpressure, memory to memory
 *   (src/testing/browser-blast.ts): what the page is measured against; and
 *   Chromium to itself (two connections in one tab), which bounds what any
 *   peer can receive from it here;
 * - CLI → Chromium (saved through OPFS) and Chromium → CLI, MB/s of verified
 *   transfer (from the receiver's first progress to its last file verified);
 * - the page's JS heap while it receives (CDP Performance.getMetrics,
 *   JSHeapUsedSize, sampled every HEAP_SAMPLE_MS): it must stay flat;
 * - the time from tapping Receive (a code typed in) to the first byte, and
 *   from the last byte to the page showing it done (the file flushed,
 *   verified, and moved to its name: web/opfs-file.ts).
 *
 *   npm run bench:browser                  1 GiB
 *   npm run bench:browser -- --size 256    256 MiB
 *
 * Needs `npm run build` first (dist/web and dist/peer.mjs) and Chromium.
 */
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CHUNK_SIZE, DATA_HEADER_BYTES } from '../src/core/transfer/protocol.js';
import { packageRoot } from '../src/project.js';
import { finished, launchChromium, openPeerPage, opfsSha256, sendFromPage } from '../src/testing/browser.js';
import { blastBothWays, blastPageToPage } from '../src/testing/browser-blast.js';
import { sha256File, writeRandomFile } from '../src/testing/files.js';
import { Harness } from '../src/testing/harness.js';
import { cpuByKind, cpuSpent, processCpuSeconds } from '../src/testing/proc-cpu.js';

const args = await yargs(hideBin(process.argv))
  .option('size', { type: 'number', default: 1024, describe: 'File size in MiB' })
  .strict()
  .parseAsync();

const size = args.size * 1024 * 1024;
/** Often enough to see a heap that grows with the transfer, rarely enough to cost nothing. */
const HEAP_SAMPLE_MS = 500;
/** Every transfer here must finish well within this, or something is stuck. */
const TRANSFER_LIMIT_MS = 600_000;
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const mbps = (bytes: number, ms: number): number => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;

/**
 * SHA-256 in the page: hash-wasm incremental (what the page uses), the
 * @noble/hashes fallback, and WebCrypto's digest() of one whole buffer (which
 * cannot hash a file in pieces, so is only a bound).
 */
async function hashRates(browser: Awaited<ReturnType<typeof launchChromium>>, url: string): Promise<string> {
  const noble = await build({
    stdin: {
      contents:
        "import { sha256 } from '@noble/hashes/sha2.js'; import { createSHA256 } from 'hash-wasm';" +
        ' globalThis.benchSha256 = sha256; globalThis.benchWasm = createSHA256;',
      resolveDir: packageRoot(),
    },
    bundle: true,
    format: 'iife',
    write: false,
    minify: true,
    logLevel: 'silent',
  });
  const page = await browser.open(url);
  // Evaluated through the debugger, not a script tag: the page's CSP allows no inline script.
  await page.evaluate(noble.outputFiles[0]?.text ?? '');
  const rates = await page.evaluate(`(async () => {
    const size = 64 * 1024 * 1024, piece = 256 * 1024;
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
    let t = performance.now();
    const h = benchSha256.create();
    for (let i = 0; i < size; i += piece) h.update(data.subarray(i, i + piece));
    h.digest();
    const noble = size / 1e6 / ((performance.now() - t) / 1000);
    const w = await benchWasm();
    t = performance.now();
    w.init();
    for (let i = 0; i < size; i += piece) w.update(data.subarray(i, i + piece));
    w.digest('hex');
    const wasm = size / 1e6 / ((performance.now() - t) / 1000);
    t = performance.now();
    await crypto.subtle.digest('SHA-256', data);
    const webcrypto = size / 1e6 / ((performance.now() - t) / 1000);
    return { wasm: Math.round(wasm), noble: Math.round(noble), webcrypto: Math.round(webcrypto) };
  })()`);
  await page.close();
  const { wasm, noble: n, webcrypto: w } = rates as { wasm: number; noble: number; webcrypto: number };
  return `SHA-256 in Chromium, 64 MiB: hash-wasm incremental ${wasm} MB/s, @noble/hashes incremental ${n} MB/s, WebCrypto whole buffer ${w} MB/s`;
}

/** CLI → CLI over the data channel, MB/s of verified transfer; `mtu` undefined: what the CLI picks. */
async function cliToCli(h: Harness, src: string, peerArgs: string[], mtu?: number): Promise<unknown> {
  const mtuArgs = mtu === undefined ? [] : ['--mtu', String(mtu)];
  const out = await h.tempDir();
  const rx = h.peer(['receive', '--yes', '--out', out, ...peerArgs, ...mtuArgs]);
  const { code } = await rx.waitFor('ready');
  const tx = h.peer(['send', src, '--to', code, '--transport', 'webrtc', ...peerArgs, ...mtuArgs]);
  const done = await rx.waitFor('done', TRANSFER_LIMIT_MS);
  await tx.exit();
  return done.mbps;
}

/**
 * CPU spent by the CLI (`pid`) and each kind of Chromium process from
 * start() to stop(): seconds per GiB moved, and how many of the machine's
 * cores they kept busy together in that time.
 */
function cpuMeter(pid: number | undefined) {
  const read = async (): Promise<Map<string, number>> => {
    const kinds = await cpuByKind('chromium');
    if (pid !== undefined) kinds.set('CLI', await processCpuSeconds(pid).catch(() => 0));
    return kinds;
  };
  let before: Promise<[Map<string, number>, number]> | undefined;
  return {
    start(): void {
      before ??= read().then((m) => [m, Date.now()]);
    },
    /** `cliTotal`: the CLI's own CPU seconds at its end (its `done` event), should it have exited already. */
    async stop(bytes: number, cliTotal?: number): Promise<string> {
      if (before === undefined) return 'CPU: not measured';
      const [then, t0] = await before;
      const now = await read();
      if (cliTotal !== undefined) now.set('CLI', cliTotal);
      const spent = cpuSpent(then, now);
      const total = spent.reduce((sum, [, s]) => sum + s, 0);
      const gib = bytes / 1024 ** 3;
      const each = spent.map(([kind, s]) => `${kind} ${(s / gib).toFixed(2)}`).join(', ');
      const cores = total / ((Date.now() - t0) / 1000);
      return `CPU s/GiB while it ran: ${each}; together ${cores.toFixed(2)} of ${os.cpus().length} cores busy`;
    },
  };
}

const h = new Harness();
const browser = await launchChromium();
try {
  const server = await h.signalServer();
  const url = `http://${server.host}:${server.port}/`;
  const dir = await h.tempDir();
  const src = path.join(dir, 'bench.bin');
  await writeRandomFile(src, size);
  const sha = await sha256File(src);

  log(await hashRates(browser, url));

  const blastPage = await browser.open('about:blank');
  const blast = await blastBothWays(blastPage, {
    bytes: size,
    messageBytes: CHUNK_SIZE + DATA_HEADER_BYTES,
    mtu: 2048,
  });
  const itself = await blastPageToPage(blastPage, {
    bytes: size,
    messageBytes: CHUNK_SIZE + DATA_HEADER_BYTES,
  });
  await blastPage.close();
  log(
    `ceiling, one data channel Chromium ↔ node-datachannel, no frames/hash/disk, ${blast.toPage.maxMessageSize} B max message: ` +
      `to Chromium ${blast.toPage.mbps} MB/s, from Chromium ${blast.fromPage.mbps} MB/s; ` +
      `Chromium to itself (two connections in one tab) ${itself} MB/s`,
  );

  // CLI → CLI, the reference: the data channel at the MTU the CLI uses on loopback, and at 4096.
  log(
    `CLI → CLI (data channel, --mtu 2048, what a CLI uses towards a page): ${await cliToCli(h, src, server.peerArgs, 2048)} MB/s`,
  );
  log(
    `CLI → CLI (data channel, MTU 4096, the loopback default between CLIs, which Chromium drops): ${await cliToCli(h, src, server.peerArgs)} MB/s`,
  );

  // CLI → Chromium: the CLI waits with a code, the page types it and taps Receive.
  const sender = h.peer(['send', src, ...server.peerArgs]);
  const sent = await sender.waitFor('ready');
  const downCpu = cpuMeter(sender.child.pid);
  const page = await openPeerPage(browser, url);
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Performance.enable');
  const heap: number[] = [];
  const sampler = setInterval(() => {
    void cdp.send('Performance.getMetrics').then(({ metrics }) => {
      const used = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value;
      if (used !== undefined) heap.push(used);
    });
  }, HEAP_SAMPLE_MS);
  await page.locator('#code').fill(sent.code);
  const tapped = Date.now();
  let firstByte = 0;
  let lastProgress = 0;
  page.on('console', (m) => {
    if (m.text().startsWith('{"event":"progress"')) {
      firstByte ||= Date.now();
      downCpu.start();
      lastProgress = Date.now();
    }
  });
  await page.locator('#receive').click();
  await page.locator('#accept').click({ timeout: 60_000 });
  const state = await finished(page, TRANSFER_LIMIT_MS);
  const shown = Date.now();
  const sentDone = await sender.waitFor('done', 10_000).catch(() => undefined);
  const downCpuLine = await downCpu.stop(size, sentDone?.usage.cpuSeconds);
  clearInterval(sampler);
  const same = (await opfsSha256(page, 'bench.bin')) === sha;
  await sender.exit();
  const heapMb = heap.map((b) => Math.round(b / 1e6));
  log(
    `CLI → Chromium (OPFS): ${state}, ${same ? 'same bytes' : 'BYTES DIFFER'}, ${mbps(size, lastProgress - firstByte)} MB/s; ` +
      `tap to first byte ${firstByte - tapped} ms (pairing, PAKE, ICE, DTLS, manifest, and the consent click answered at once); ` +
      `last byte to done shown ${shown - lastProgress} ms (flushed, verified, moved to its name)`,
  );
  log(`  ${downCpuLine}`);
  log(
    `  page JS heap while receiving, MB: min ${Math.min(...heapMb)}, max ${Math.max(...heapMb)}, samples ${heapMb.join(' ')}`,
  );
  await page.close();

  // Chromium → CLI.
  const out2 = await h.tempDir();
  const receiver = h.peer(['receive', '--yes', '--out', out2, ...server.peerArgs]);
  const ready = await receiver.waitFor('ready');
  const upCpu = cpuMeter(receiver.child.pid);
  const up = await openPeerPage(browser, url);
  await sendFromPage(up, ready.code, [src]);
  void receiver.waitFor('progress', TRANSFER_LIMIT_MS).then(
    () => upCpu.start(),
    () => {},
  );
  const upState = await finished(up, TRANSFER_LIMIT_MS);
  const upDone = await receiver.waitFor('done', 10_000).catch(() => undefined);
  const upCpuLine = await upCpu.stop(size, upDone?.usage.cpuSeconds);
  log(`Chromium → CLI: ${upState}, ${upDone?.mbps ?? '?'} MB/s (the receiver's figure)`);
  log(`  ${upCpuLine}`);
} finally {
  await browser.close();
  await h.cleanup();
}
// node-datachannel's threads keep the process alive once a PeerConnection was made here (the blast's).
process.exit(0);
