/**
 * The WAN lab's network: two hosts and a signal server on three sides of one
 * router namespace that emulates an internet path.
 *
 *   sender (192.0.2.2) ── router ── receiver (203.0.113.2)
 *                           │
 *                 signal server (198.51.100.2)
 *
 * Everything the router forwards waits RTT/2 in a userspace delay line
 * (delay.c through NFQUEUE: this kernel has no sch_netem), so a round trip
 * between any two of them takes the stated RTT, signaling included. `tbf` on
 * the router's two host-facing ports sets the rate, and an nftables `numgen`
 * rule drops the stated share of packets between the two hosts, both ways.
 * Addresses are documentation ranges and live only inside the lab's
 * namespaces.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../../src/project.js';
import type { Lab, Proc } from './netns.js';
import { sh, stop } from './netns.js';

export interface WanPath {
  name: string;
  rttMs: number;
  mbit: number;
  /** Share of packets dropped between the hosts, each way: 0.001 is 0.1%. */
  loss: number;
  /** MiB moved per run on this path. */
  sizeMiB: number;
}

export const ADDR = { sender: '192.0.2.2', receiver: '203.0.113.2', signal: '198.51.100.2' } as const;
const QUEUE = 7;

/**
 * The router's queue (tbf limit) holds one bandwidth-delay product, as a
 * well-sized bottleneck does, within 256 KiB and 16 MiB.
 */
function queueBytes(p: WanPath): number {
  const bdp = ((p.mbit * 1e6) / 8) * (p.rttMs / 1000);
  return Math.round(Math.min(16 * 2 ** 20, Math.max(256 * 1024, bdp)));
}

/**
 * tbf's bucket must hold what arrives in one timer tick at the stated rate
 * (rate ÷ HZ; HZ can be 100), or it caps the rate below the stated one.
 */
function burstBytes(p: WanPath): number {
  return Math.max(64 * 1024, Math.round((p.mbit * 1e6) / 8 / 100));
}

export class WanNetwork {
  readonly ns: { sender: string; router: string; receiver: string; signal: string };
  private delay: Proc | undefined;

  constructor(
    private readonly lab: Lab,
    id: string,
  ) {
    this.ns = { sender: `${id}-tx`, router: `${id}-rt`, receiver: `${id}-rx`, signal: `${id}-sig` };
  }

  /** Namespaces, links and routes; the path itself is set by `configure`. */
  build(): void {
    const { lab, ns } = this;
    for (const n of Object.values(ns)) lab.addNamespace(n);
    lab.link(ns.router, 'to-tx', '192.0.2.1/24', ns.sender, 'eth0', `${ADDR.sender}/24`);
    lab.link(ns.router, 'to-rx', '203.0.113.1/24', ns.receiver, 'eth0', `${ADDR.receiver}/24`);
    lab.link(ns.router, 'to-sig', '198.51.100.1/24', ns.signal, 'eth0', `${ADDR.signal}/24`);
    lab.defaultRoute(ns.sender, '192.0.2.1');
    lab.defaultRoute(ns.receiver, '203.0.113.1');
    lab.defaultRoute(ns.signal, '198.51.100.1');
    lab.router(ns.router);
    // Every forwarded packet goes through the delay line. nftables' own
    // `queue` is not built into this kernel; the xtables NFQUEUE target is.
    sh(['iptables-legacy', '-A', 'FORWARD', '-j', 'NFQUEUE', '--queue-num', String(QUEUE)], {
      ns: ns.router,
    });
  }

  /** Compile the delay line into the lab's temp dir. */
  compileDelay(): string {
    const bin = path.join(this.lab.work, 'delay');
    const src = path.join(packageRoot(), 'scripts', 'lab', 'delay.c');
    const r = spawnSync('cc', ['-O2', '-o', bin, src, '-lnetfilter_queue', '-lnfnetlink'], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`cannot build the delay line: ${r.stderr}`);
    return bin;
  }

  /** Set rate, loss and delay for `p`, replacing the previous path. */
  async configure(p: WanPath, delayBin: string): Promise<void> {
    const { ns } = this;
    for (const dev of ['to-tx', 'to-rx']) {
      sh(
        [
          'tc',
          'qdisc',
          'replace',
          'dev',
          dev,
          'root',
          'tbf',
          'rate',
          `${p.mbit}mbit`,
          'burst',
          String(burstBytes(p)),
          'limit',
          String(queueBytes(p)),
        ],
        { ns: ns.router },
      );
    }
    sh(['nft', 'delete', 'table', 'ip', 'wanloss'], { ns: ns.router, allowFail: true });
    if (p.loss > 0) {
      // numgen draws per packet; `< n` out of 1,000,000 drops that share.
      const n = Math.round(p.loss * 1_000_000);
      const rules = [
        'table ip wanloss {',
        '  chain loss {',
        '    type filter hook forward priority -10;',
        `    ip saddr 192.0.2.0/24 ip daddr 203.0.113.0/24 numgen random mod 1000000 < ${n} drop`,
        `    ip saddr 203.0.113.0/24 ip daddr 192.0.2.0/24 numgen random mod 1000000 < ${n} drop`,
        '  }',
        '}',
      ];
      sh(['nft', '-f', '-'], { ns: ns.router, input: `${rules.join('\n')}\n` });
    }
    await stop(this.delay);
    this.delay = this.lab.run(ns.router, [delayBin, String(QUEUE), String(Math.round((p.rttMs * 1000) / 2))]);
    await waitForLine(this.delay, 'ready');
  }

  /** Median ping RTT between the hosts, in ms: the emulator's own check. */
  pingMs(): number {
    const out = sh(['ping', '-c', '5', '-i', '0.2', '-q', ADDR.receiver], { ns: this.ns.sender });
    const avg = /= [\d.]+\/([\d.]+)\//.exec(out)?.[1];
    if (avg === undefined) throw new Error(`cannot read ping's RTT from: ${out}`);
    return Number(avg);
  }

  /** Packets dropped at the router's tbf queues since the path was set. */
  queueDrops(): number {
    let drops = 0;
    for (const dev of ['to-tx', 'to-rx']) {
      const out = sh(['tc', '-s', 'qdisc', 'show', 'dev', dev], { ns: this.ns.router });
      drops += Number(/dropped (\d+)/.exec(out)?.[1] ?? 0);
    }
    return drops;
  }
}

/** Wait until a process started by the lab prints `text` on stdout (not a JSON event). */
function waitForLine(proc: Proc, text: string, ms = 5_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${ms} ms: ${proc.stderr}`)), ms);
    proc.child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.child.once('exit', () => reject(new Error(`exited before "${text}": ${proc.stderr}`)));
  });
}
