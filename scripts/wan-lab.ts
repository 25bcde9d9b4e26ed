/**
 * `npm run bench:wan` (root): peerlane against one TCP socket with SHA-256 on
 * receipt (tcp-baseline.ts), alternating run by run, over emulated internet
 * paths (lab/wan-path.ts). Prints MB/s, the ratio, CPU-s/GiB per side and the
 * time to first byte for each path, after checking the emulator with ping.
 * peerlane runs three times per round: as it runs by default, where the direct
 * TCP path wins the race; with `--transport webrtc`, the data channel alone;
 * and with `--transport relay`, through the signal server's relay.
 *
 *   npm run bench:wan                           every path, 2 runs each
 *   npm run bench:wan -- --paths 80ms --runs 3
 *   npm run bench:wan -- --short                CI: one path, 64 MiB, 1 run
 *   npm run bench:wan -- --also /old/dist/peer.mjs   another build, same runs
 *
 * Speeds are printed, never asserted: the lab fails only when a transfer does
 * not verify or the emulator misses its RTT. A run that passes --limit
 * seconds is stopped, and its rate is what arrived by then.
 */
import fs from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { packageRoot } from '../src/project.js';
import { sha256File, writeRandomFile } from '../src/testing/files.js';
import type { LabEvent } from './lab/netns.js';
import { Lab, nodeScript, stop, withLimit } from './lab/netns.js';
import type { WanPath } from './lab/wan-path.js';
import { ADDR, WanNetwork } from './lab/wan-path.js';

const PATHS: WanPath[] = [
  { name: '20ms', rttMs: 20, mbit: 1000, loss: 0, sizeMiB: 512 },
  { name: '80ms', rttMs: 80, mbit: 1000, loss: 0, sizeMiB: 256 },
  { name: '80ms-loss', rttMs: 80, mbit: 200, loss: 0.001, sizeMiB: 256 },
  { name: '200ms-loss', rttMs: 200, mbit: 100, loss: 0.005, sizeMiB: 128 },
];

const args = await yargs(hideBin(process.argv))
  .option('paths', { type: 'string', describe: `Comma-separated: ${PATHS.map((p) => p.name).join(', ')}` })
  .option('runs', { type: 'number', default: 2, describe: 'Runs of each variant per path' })
  .option('size', { type: 'number', describe: 'MiB per run, instead of each path’s own' })
  .option('short', { type: 'boolean', default: false, describe: 'CI: 80ms only, 64 MiB, 1 run' })
  .option('limit', { type: 'number', default: 120, describe: 'Seconds a run may take before it is cut' })
  .option('also', { type: 'string', describe: 'Another build’s peer.mjs to run alongside (before/after)' })
  .option('json', { type: 'boolean', default: false, describe: 'Figures as JSON on stdout' })
  .strict()
  .parseAsync();

const GIB = 1024 ** 3;
const lab = new Lab('wan-lab');
const net = new WanNetwork(lab, `wn${process.pid % 100000}`);

interface Run {
  mbps: number;
  senderCpuPerGiB: number;
  receiverCpuPerGiB: number;
  firstByteMs?: number;
  /** Stopped at --limit; mbps is what arrived by then. */
  cut?: boolean;
}
type Usage = { cpuSeconds: number; maxRssBytes: number };

const last = (p: { events: LabEvent[] }, name: string): LabEvent | undefined =>
  p.events.findLast((e) => e.event === name);

async function peerlaneRun(command: string[], file: string, expected: string, port: number): Promise<Run> {
  const out = fs.mkdtempSync(path.join(lab.work, 'out-'));
  // Flags after node and the script are for both sides (`--transport webrtc`).
  const [node = '', script = '', ...flags] = command;
  const peer = [node, script];
  const common = [
    '--signal',
    `${ADDR.signal}:${port}`,
    '--ice-servers',
    'none',
    '--json',
    '--quiet',
    ...flags,
  ];
  const rx = lab.run(net.ns.receiver, [
    ...peer,
    'receive',
    '--out',
    out,
    '--yes',
    '--bind-address',
    ADDR.receiver,
    ...common,
  ]);
  const { code } = await rx.waitFor('ready', 15_000);
  const tx = lab.run(net.ns.sender, [
    ...peer,
    'send',
    file,
    '--to',
    String(code),
    '--bind-address',
    ADDR.sender,
    ...common,
  ]);
  try {
    await withLimit(Promise.all([rx.exited, tx.exited]), args.limit * 1000, 'cut');
  } catch {
    const moved = Number(last(rx, 'progress')?.bytes ?? 0);
    const since = tx.eventTimes.get('progress') ?? 0;
    await Promise.all([stop(rx), stop(tx)]);
    const seconds = (Date.now() - tx.startedAt - since) / 1000;
    return {
      mbps: moved / 1e6 / seconds,
      senderCpuPerGiB: Number.NaN,
      receiverCpuPerGiB: Number.NaN,
      cut: true,
    };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
  const r = last(rx, 'done');
  const t = last(tx, 'done');
  const files = r?.files as { sha256?: string }[] | undefined;
  if (r === undefined || t === undefined || files?.[0]?.sha256 !== expected) {
    throw new Error(`peerlane did not verify:\n${rx.tail()}\n${tx.tail()}`);
  }
  const gib = Number(r.bytes) / GIB;
  return {
    mbps: Number(r.bytes) / 1e6 / Number(r.seconds),
    senderCpuPerGiB: (t.usage as Usage).cpuSeconds / gib,
    receiverCpuPerGiB: (r.usage as Usage).cpuSeconds / gib,
    firstByteMs: tx.eventTimes.get('progress') ?? Number.NaN,
  };
}

async function tcpRun(file: string, expected: string): Promise<Run> {
  const script = path.join(packageRoot(), 'dist', 'scripts', 'tcp-baseline.js');
  const out = path.join(lab.work, 'tcp.out');
  const rx = lab.run(net.ns.receiver, [process.execPath, script, 'recv', out, ADDR.receiver]);
  const { port } = await rx.waitFor((e) => typeof e.port === 'number', 10_000, 'the port');
  const tx = lab.run(net.ns.sender, [process.execPath, script, 'send', file, String(port), ADDR.receiver]);
  const r = await rx.waitFor('done', args.limit * 1000);
  const t = await tx.waitFor('done', 10_000);
  fs.rmSync(out, { force: true });
  if (r.sha256 !== expected) throw new Error('the TCP baseline did not verify');
  const gib = Number(r.bytes) / GIB;
  return {
    mbps: Number(r.bytes) / 1e6 / Number(r.seconds),
    senderCpuPerGiB: (t.usage as Usage).cpuSeconds / gib,
    receiverCpuPerGiB: (r.usage as Usage).cpuSeconds / gib,
  };
}

const median = (xs: number[]): number => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const fmt = (x: number, digits = 1): string => (Number.isNaN(x) ? '–' : x.toFixed(digits));

function summarise(label: string, runs: Run[], tcp: number): Record<string, unknown> {
  const m = (k: keyof Run) => median(runs.map((r) => Number(r[k])));
  const cut = runs.some((r) => r.cut);
  lab.log(
    `  ${label.padEnd(10)} ${fmt(m('mbps')).padStart(7)} MB/s${cut ? ' (cut)' : '      '}` +
      `  ×TCP ${fmt(m('mbps') / tcp, 2).padStart(5)}` +
      `  CPU-s/GiB ${fmt(m('senderCpuPerGiB'), 2)} / ${fmt(m('receiverCpuPerGiB'), 2)}` +
      (label === 'tcp' ? '' : `  first byte ${fmt(m('firstByteMs'), 0)} ms`) +
      `   runs: ${runs.map((r) => fmt(r.mbps)).join(', ')}`,
  );
  return {
    mbps: m('mbps'),
    ratio: m('mbps') / tcp,
    senderCpuPerGiB: m('senderCpuPerGiB'),
    receiverCpuPerGiB: m('receiverCpuPerGiB'),
    firstByteMs: m('firstByteMs'),
    runs: runs.map((r) => r.mbps),
    cut,
  };
}

async function measurePath(p: WanPath, delayBin: string, port: number): Promise<Record<string, unknown>> {
  await net.configure(p, delayBin);
  const ping = net.pingMs();
  const sizeMiB = args.size ?? (args.short ? 64 : p.sizeMiB);
  lab.log(
    `${p.name}: ${p.rttMs} ms RTT, ${p.mbit} Mbit/s, ${p.loss * 100}% loss, ${sizeMiB} MiB; ping ${ping} ms`,
  );
  // The emulator's own check: the RTT must be what the path states. A loaded
  // machine adds a few ms of scheduling; more is the delay line failing.
  if (Math.abs(ping - p.rttMs) > 5 + p.rttMs * 0.1)
    throw new Error(`the delay line gave ${ping} ms, not ${p.rttMs}`);
  const file = path.join(lab.work, `${p.name}.bin`);
  await writeRandomFile(file, sizeMiB * 2 ** 20);
  const expected = await sha256File(file);
  // peerlane as it runs by default (the direct TCP path racing the data
  // channel, which wins on this path), and the data channel alone.
  const builds: [string, string[]][] = [
    ['peerlane', nodeScript('peer')],
    ['webrtc', [...nodeScript('peer'), '--transport', 'webrtc']],
    // Through the signal server's relay: it sits across the router too, so
    // relayed data crosses the emulated path twice (twice the RTT).
    ['relay', [...nodeScript('peer'), '--transport', 'relay']],
  ];
  if (args.also) builds.push(['also', [process.execPath, args.also]]);
  const runs = new Map<string, Run[]>([['tcp', []], ...builds.map(([n]) => [n, []] as [string, Run[]])]);
  const drops0 = net.queueDrops();
  for (let i = 0; i < (args.short ? 1 : args.runs); i++) {
    // Alternate, so drift in the machine's load hits every variant alike.
    runs.get('tcp')?.push(await tcpRun(file, expected));
    for (const [name, peer] of builds) runs.get(name)?.push(await peerlaneRun(peer, file, expected, port));
  }
  fs.rmSync(file, { force: true });
  const tcp = median((runs.get('tcp') ?? []).map((r) => r.mbps));
  const result: Record<string, unknown> = {
    path: p,
    pingMs: ping,
    sizeMiB,
    routerDrops: net.queueDrops() - drops0,
  };
  for (const [name, rs] of runs) result[name] = summarise(name, rs, tcp);
  lab.log(`  stated rate ${(p.mbit / 8).toFixed(1)} MB/s; router queue drops ${result.routerDrops}`);
  return result;
}

await lab.main(
  ['ip', 'tc', 'nft', 'iptables-legacy', 'ping', 'cc'],
  'iproute2 nftables iptables iputils-ping gcc libnetfilter-queue-dev',
  async () => {
    const chosen = args.short
      ? PATHS.filter((p) => p.name === '80ms')
      : args.paths === undefined
        ? PATHS
        : args.paths.split(',').map((name) => {
            const p = PATHS.find((x) => x.name === name);
            if (p === undefined) throw new Error(`no path "${name}"`);
            return p;
          });
    const delayBin = net.compileDelay();
    net.build();
    const signal = lab.run(net.ns.signal, [
      ...nodeScript('signal'),
      '--host',
      ADDR.signal,
      '--port',
      '0',
      '--relay-enabled',
      '--json',
    ]);
    const { port } = await signal.waitFor('listening', 10_000);
    const results = [];
    for (const p of chosen) results.push(await measurePath(p, delayBin, Number(port)));
    if (args.json) process.stdout.write(`${JSON.stringify(results)}\n`);
    return 0;
  },
);
