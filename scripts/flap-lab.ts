/**
 * `npm run test:nat` (after the NAT lab): the flap lab. Breaks the UDP path
 * between two peers in the middle of a real transfer and checks that the
 * transfer survives, reconnects, or fails cleanly, as each case expects. Needs
 * root, iproute2 and nftables (see .ci/run).
 *
 *     hostA (peer receive)                              hostB (peer send)
 *     10.9.1.2 eth0                                         eth0 10.9.2.2
 *            \                                                 /
 *        10.9.1.1 toA ---- hub (router, no NAT) ---- toB 10.9.2.1
 *                          signal server 10.9.0.1:8091 (on lo)
 *                          nftables `inet flap` forward chain: the faults
 *
 * The peers use host candidates only (`--ice-servers ''`), so all their UDP
 * crosses the hub's forward chain, while their TCP connections to the signal
 * server end at the hub itself and are never touched. Dropping in the router
 * rather than in a host makes a flap silent for both sides, as on a real
 * network: a host's own output rule would fail sendto() with EPERM instead.
 *
 * Cases (each with a time limit, the received file checked by SHA-256 against
 * the source, its out dir removed afterwards):
 *   1   A 5 s UDP blackout at 40% of a 512 MiB transfer, shorter than the 10 s
 *       dead-peer timeout: the transfer rides it out (SCTP retransmits, the
 *       heartbeat waits), both exit 0, the file is intact.
 *   2   A 14 s blackout at 40%, longer than the dead-peer timeout: each side
 *       reports `reconnecting`, then a new `connected` over a new data channel
 *       set up through the still-open signal connection; both exit 0, the file
 *       is intact, and the receiver's `done` shows resumedBytes > 0 (the data
 *       before the outage was kept, not sent again).
 *   2b  The same outage with `--reconnects 0` on both: both give up with
 *       PEER_LOST, exit non-zero, and the out dir holds nothing that looks
 *       complete (only `.part` and `.part.peerlane`, kept for a resume).
 *   3   DTLS never completes: the hub drops UDP datagrams whose first payload
 *       byte is 22 (a DTLS handshake record) and passes STUN (first byte 0 or
 *       1), so ICE connects and the handshake stalls. A side must notice within
 *       about 10 s (`reconnecting`, reason `dtls-stall`); the lab then lifts
 *       the rule, and the retry connects and delivers the file.
 *   3b  DTLS fails: the hub overwrites a byte inside the certificate of the
 *       client's DTLS flight, so the fingerprint check fails at once. Each
 *       side must report HANDSHAKE_FAILED by layer ("the DTLS handshake
 *       failed", reason `dtls-stall`), not ICE_FAILED, and retry; the lab
 *       lifts the rule and the retry delivers the file.
 *   4   A 90 s blackout at 40%: longer than three 30 s ICE deadlines, within
 *       the 120 s reconnection budget (--reconnect-for). Attempts back off
 *       and, once one found no path, last 15 s, so data must flow again
 *       within 25 s of the path's return; the transfer resumes and completes.
 *   5   The sender is stopped (SIGSTOP, as Ctrl-Z) for 30 s at 40%, past the
 *       freeze guard's 20 s: not killed as RTC_STALLED; on SIGCONT both
 *       sides reconnect and the file completes.
 *   6   The direct TCP path (the default race) carries the transfer, and at
 *       40% the hub drops all TCP between the hosts for good: both sides must
 *       notice, reconnect, find the direct path blocked, and finish over the
 *       data channel, resuming. (Every other case keeps to --transport webrtc:
 *       their faults are UDP's, which TCP would ride out.)
 *
 * Knobs for debugging: FLAP_LAB_CASES=1,2b runs only those cases;
 * FLAP_LAB_MIB=1024 sets the size of the big file (default 512);
 * PEERLANE_DEBUG_ICE=1 makes the peers print libjuice's log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RESTART_REASONS } from '../src/core/signaling/rtc-signal.js';
import { sha256File, writeRandomFile } from '../src/testing/files.js';
import type { LabEvent, Proc } from './lab/netns.js';
import { Lab, nodeScript, sh, sleep, stop, until, withLimit } from './lab/netns.js';

const ID = `fl${process.pid % 100000}`;
const NS = { hub: `${ID}-hub`, hostA: `${ID}-hostA`, hostB: `${ID}-hostB` } as const;
const SIGNAL = '10.9.0.1:8091';
/** The dead-peer timeout the peers use (PEER_IDLE_TIMEOUT_MS). */
const PEER_SILENT_S = 10;
const BIG_BYTES = Number(process.env.FLAP_LAB_MIB || 512) * 1024 * 1024;
const SMALL_BYTES = 4 * 1024 * 1024;
/** nftables rules the cases insert into the hub's forward chain. */
const DROP_UDP = 'meta l4proto udp counter drop';
/** In the forward chain only: the peers' signaling to the hub is local delivery, not forwarded. */
const DROP_TCP = 'meta l4proto tcp counter drop';
const DROP_DTLS_HANDSHAKE = 'meta l4proto udp @th,64,8 22 counter drop';
/**
 * A DTLS handshake record (22) whose first message is a Certificate (11): the
 * client's second flight. One byte inside the certificate is overwritten (the
 * UDP checksum cleared, which IPv4 allows), so the peer's fingerprint check
 * fails: a real DTLS failure after ICE connected.
 */
const CORRUPT_DTLS_CERTIFICATE =
  'meta l4proto udp @th,64,8 22 @th,168,8 11 counter @th,800,8 set 0x55 udp checksum set 0';

/** A path that comes back during reconnection is found within one short attempt and its backoff. */
const RETURN_FOUND_MS = 25_000;

const lab = new Lab('flap-lab');

interface Source {
  file: string;
  bytes: number;
  sha256: string;
}

/** One case while it runs: its peers, its out dir, and a timeline of what happened. */
interface Run {
  rx: Proc;
  tx: Proc;
  out: string;
  source: Source;
  /** Case start (the receiver's launch); the timeline counts from here. */
  t0: number;
  timeline: string[];
  mark(what: string): void;
  /** When an outage ended, and when data flowed again after it (absent: never). */
  healedAt?: number;
  flowingAt?: number;
}

interface Case {
  id: string;
  title: string;
  big: boolean;
  limitMs: number;
  /** Extra flags for both peers. */
  flags: string[];
  /** The links the peers may use (default webrtc: most faults are the data channel's). */
  transport?: 'auto' | 'webrtc';
  /** A rule in force before the peers start. */
  initialRule?: string;
  /** Runs beside the transfer from the sender's launch: inserts and lifts the faults. */
  drive(run: Run): Promise<void>;
  /** After both peers exited: what is wrong (empty: pass). */
  check(run: Run, codes: { rx: number | null; tx: number | null }): Promise<string[]>;
}

// ------------------------------------------------------------------ topology and faults

function buildTopology(): void {
  for (const ns of Object.values(NS)) lab.addNamespace(ns);
  lab.link(NS.hub, 'toA', '10.9.1.1/24', NS.hostA, 'eth0', '10.9.1.2/24');
  lab.link(NS.hub, 'toB', '10.9.2.1/24', NS.hostB, 'eth0', '10.9.2.2/24');
  // The signal server's address lives on the hub's loopback: no dummy module needed.
  lab.addr(NS.hub, 'lo', '10.9.0.1/32');
  lab.defaultRoute(NS.hostA, '10.9.1.1');
  lab.defaultRoute(NS.hostB, '10.9.2.1');
  lab.router(NS.hub);
  sh(['nft', '-f', '-'], {
    ns: NS.hub,
    input: `
table inet flap {
  chain forward {
    type filter hook forward priority filter; policy accept;
  }
}
`,
  });
}

function block(rule: string): void {
  sh(['nft', `add rule inet flap forward ${rule}`], { ns: NS.hub });
}

/** How many packets the rules in force have matched (dropped, or changed). */
function dropped(): number {
  const listing = sh(['nft', 'list chain inet flap forward'], { ns: NS.hub });
  return [...listing.matchAll(/packets (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** Lift every fault; returns how many packets the rules dropped. */
function heal(): number {
  const count = dropped();
  sh(['nft', 'flush chain inet flap forward'], { ns: NS.hub });
  return count;
}

// ------------------------------------------------------------------ helpers for cases

function sides(run: Run): [side: 'receiver' | 'sender', proc: Proc][] {
  return [
    ['receiver', run.rx],
    ['sender', run.tx],
  ];
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function isProgressAt(fraction: number): (e: LabEvent) => boolean {
  return (e) =>
    e.event === 'progress' && typeof e.total === 'number' && Number(e.bytes) >= fraction * e.total;
}

/** When the receiver has `fraction` of the bytes, drop all UDP for `ms`. */
async function outage(run: Run, fraction: number, ms: number): Promise<void> {
  const at = await run.rx.waitFor(isProgressAt(fraction), 60_000, `progress at ${fraction * 100}%`);
  block(DROP_UDP);
  run.mark(`UDP dropped at ${Math.round((Number(at.bytes) / Number(at.total)) * 100)}% of the file`);
  await sleep(ms);
  const count = heal();
  run.healedAt = Date.now();
  run.mark(`UDP back after ${seconds(ms)} (${count} datagrams dropped)`);
  // For the timeline: how long the data takes to flow again (absent if a peer gave up).
  const stalledAt = Number(run.rx.events.findLast((e) => e.event === 'progress')?.bytes ?? 0);
  const flowing = await until(
    () => {
      if (run.rx.events.some((e) => e.event === 'progress' && Number(e.bytes) > stalledAt)) return true;
      return run.rx.child.exitCode !== null ? false : undefined;
    },
    60_000,
    () => 'no progress after the outage',
  ).catch(() => false);
  if (flowing) {
    run.flowingAt = Date.now();
    run.mark('receiver progressing again');
  }
}

/** Both peers' events as timeline entries: the reconnects, connects, errors and dones. */
function peerMarks(run: Run): string[] {
  const marks: [number, string][] = [];
  for (const [side, p] of sides(run)) {
    p.events.forEach((e, i) => {
      const at = (p.arrivals[i] ?? 0) - run.t0;
      if (e.event === 'reconnecting')
        marks.push([at, `${side} reconnecting ${e.attempt}/${e.of} ${e.reason}: ${String(e.message ?? '')}`]);
      if (e.event === 'connected') marks.push([at, `${side} connected`]);
      if (e.event === 'error') marks.push([at, `${side} error ${e.code}`]);
      if (e.event === 'done') marks.push([at, `${side} done`]);
    });
  }
  return marks.sort((a, b) => a[0] - b[0]).map(([at, what]) => `${seconds(at)} ${what}`);
}

function exitProblems(codes: { rx: number | null; tx: number | null }): string[] {
  return codes.rx === 0 && codes.tx === 0 ? [] : [`exit codes rx ${codes.rx}, tx ${codes.tx}, want 0/0`];
}

/** The file arrived whole: on disk and in the receiver's `done` event, with the source's SHA-256. */
async function fileProblems(run: Run): Promise<string[]> {
  const problems: string[] = [];
  const received = path.join(run.out, path.basename(run.source.file));
  const hash = fs.existsSync(received) ? await sha256File(received) : 'missing';
  if (hash !== run.source.sha256)
    problems.push(`received file ${hash === 'missing' ? 'missing' : 'differs'}`);
  const done = run.rx.events.find((e) => e.event === 'done') as { files?: { sha256?: string }[] } | undefined;
  if (done?.files?.[0]?.sha256 !== run.source.sha256)
    problems.push('receiver done event lacks the right sha256');
  const extra = fs.readdirSync(run.out).filter((n) => n !== path.basename(received));
  if (extra.length > 0) problems.push(`left in the out dir: ${extra.join(', ')}`);
  return problems;
}

/** Each side reported `reconnecting` and, after it, a new `connected`. */
function reconnectProblems(run: Run): string[] {
  const problems: string[] = [];
  for (const [side, p] of sides(run)) {
    const first = p.events.findIndex((e) => e.event === 'reconnecting');
    if (first < 0) {
      problems.push(`${side}: no reconnecting event`);
      continue;
    }
    const e = p.events[first] as LabEvent;
    if (!(Number(e.attempt) >= 1 && Number(e.of) >= Number(e.attempt)))
      problems.push(`${side}: reconnecting event with attempt ${e.attempt} of ${e.of}`);
    if (!(RESTART_REASONS as readonly string[]).includes(String(e.reason)))
      problems.push(`${side}: reconnecting reason ${String(e.reason)}`);
    if (!p.events.slice(first + 1).some((x) => x.event === 'connected'))
      problems.push(`${side}: no connected event after reconnecting`);
  }
  return problems;
}

/** Both exited 0 after reconnecting, and the file is whole, resumed rather than sent again. */
async function resumedProblems(run: Run, codes: { rx: number | null; tx: number | null }): Promise<string[]> {
  const problems = [...exitProblems(codes), ...reconnectProblems(run), ...(await fileProblems(run))];
  const done = run.rx.events.find((e) => e.event === 'done') as
    | { files?: { resumedBytes?: number }[] }
    | undefined;
  const resumed = done?.files?.[0]?.resumedBytes;
  if (!(typeof resumed === 'number' && resumed > 0))
    problems.push(`receiver done.files[0].resumedBytes ${String(resumed)}, want > 0`);
  else run.mark(`resumedBytes ${resumed} (${Math.round((resumed / run.source.bytes) * 100)}%)`);
  return problems;
}

/** When the receiver has `fraction` of the bytes, stop `side` (SIGSTOP, as Ctrl-Z) for `ms`. */
async function suspend(run: Run, side: 'receiver' | 'sender', fraction: number, ms: number): Promise<void> {
  await run.rx.waitFor(isProgressAt(fraction), 60_000, `progress at ${fraction * 100}%`);
  const proc = side === 'receiver' ? run.rx : run.tx;
  proc.child.kill('SIGSTOP');
  run.mark(`${side} stopped (SIGSTOP)`);
  await sleep(ms);
  proc.child.kill('SIGCONT');
  run.mark(`${side} continued after ${seconds(ms)}`);
}

/**
 * A handshake fault in force from the start: a side must report it as a
 * `reconnecting` event that `seen` accepts within 12 s; the lab then lifts the
 * rule, and the retry must connect and deliver the small file.
 */
function handshakeCase(c: {
  id: string;
  title: string;
  rule: string;
  what: string;
  seen: (e: LabEvent) => boolean;
}): Case {
  return {
    id: c.id,
    title: c.title,
    big: false,
    limitMs: 60_000,
    flags: [],
    initialRule: c.rule,
    async drive(run) {
      const limitMs = 12_000;
      const side = await until(
        () => {
          for (const [name, p] of sides(run)) {
            if (p.events.some((e) => e.event === 'reconnecting' && c.seen(e))) return name;
          }
          for (const p of [run.rx, run.tx]) {
            if (p.child.exitCode !== null) throw new Error('a peer exited before reporting the fault');
          }
          return undefined;
        },
        limitMs,
        () =>
          `no reconnecting event for the fault within ${seconds(limitMs)} of the sender's start ` +
          `(${dropped()} ${c.what} so far)`,
      );
      const count = heal();
      run.mark(`${side} reported the fault; rule lifted (${count} ${c.what})`);
      if (count === 0) throw new Error('the rule matched nothing: the fault was not the lab’s doing');
    },
    async check(run, codes) {
      const problems = [...exitProblems(codes), ...(await fileProblems(run))];
      for (const [side, p] of sides(run)) {
        if (!p.events.some((e) => e.event === 'connected')) problems.push(`${side}: never connected`);
      }
      return problems;
    },
  };
}

// ------------------------------------------------------------------ cases

/** A case that drops all UDP for `ms` once the receiver has 40% of the big file. */
function outageCase(c: Pick<Case, 'id' | 'title' | 'limitMs' | 'flags' | 'check'> & { ms: number }): Case {
  return { ...c, big: true, drive: (run) => outage(run, 0.4, c.ms) };
}

const CASES: Case[] = [
  outageCase({
    id: '1',
    title: '5 s UDP flap at 40%',
    ms: 5_000,
    limitMs: 120_000,
    flags: [],
    check: async (run, codes) => [...exitProblems(codes), ...(await fileProblems(run))],
  }),
  outageCase({
    id: '2',
    title: '14 s UDP outage at 40%, reconnect and resume',
    ms: 14_000,
    limitMs: 150_000,
    flags: [],
    check: resumedProblems,
  }),
  outageCase({
    id: '2b',
    title: '14 s UDP outage at 40% with --reconnects 0',
    ms: 14_000,
    limitMs: 120_000,
    flags: ['--reconnects', '0'],
    async check(run, codes) {
      const problems: string[] = [];
      for (const [side, p] of sides(run)) {
        const code = side === 'receiver' ? codes.rx : codes.tx;
        const err = p.events.find((e) => e.event === 'error');
        if (code === 0 || err?.code !== 'PEER_LOST')
          problems.push(`${side}: exit ${code}, error ${String(err?.code)}, want non-zero and PEER_LOST`);
        if (p.events.some((e) => e.event === 'reconnecting'))
          problems.push(`${side}: reconnected although --reconnects 0`);
        if (p.events.some((e) => e.event === 'done')) problems.push(`${side}: reported done`);
      }
      const left = fs.readdirSync(run.out);
      const complete = left.filter((n) => !n.endsWith('.part') && !n.endsWith('.part.peerlane'));
      if (complete.length > 0) problems.push(`complete-looking files in the out dir: ${complete.join(', ')}`);
      run.mark(`out dir holds ${left.length === 0 ? 'nothing' : left.join(', ')}`);
      return problems;
    },
  }),
  handshakeCase({
    id: '3',
    title: 'DTLS handshake dropped, watchdog retries',
    rule: DROP_DTLS_HANDSHAKE,
    what: 'DTLS handshake datagrams dropped',
    // The watchdog's HANDSHAKE_STALLED, 5 s after ICE connected.
    seen: (e) => e.reason === 'dtls-stall' && /did not finish within/.test(String(e.message)),
  }),
  handshakeCase({
    id: '3b',
    title: 'DTLS certificate corrupted, HANDSHAKE_FAILED retried',
    rule: CORRUPT_DTLS_CERTIFICATE,
    what: 'DTLS certificates corrupted',
    // A failure by layer, at once: not ICE_FAILED, not the watchdog.
    seen: (e) => e.reason === 'dtls-stall' && /the DTLS handshake failed/.test(String(e.message)),
  }),
  outageCase({
    id: '4',
    title: '90 s UDP outage at 40%, reconnect within --reconnect-for (120 s)',
    ms: 90_000,
    limitMs: 240_000,
    flags: [],
    async check(run, codes) {
      const problems = await resumedProblems(run, codes);
      // Attempts while the path is down last 15 s (DOWN_ATTEMPT_MS), so its return is found soon.
      const lag = (run.flowingAt ?? Number.POSITIVE_INFINITY) - (run.healedAt ?? 0);
      if (lag > RETURN_FOUND_MS) problems.push(`data flowed again ${seconds(lag)} after UDP came back`);
      return problems;
    },
  }),
  {
    id: '5',
    title: 'sender stopped (Ctrl-Z) for 30 s at 40%, past the 20 s freeze guard',
    big: true,
    limitMs: 180_000,
    flags: [],
    drive: (run) => suspend(run, 'sender', 0.4, 30_000),
    check: resumedProblems,
  },
  {
    id: '6',
    title: 'direct TCP path cut for good at 40%, finished over the data channel',
    big: true,
    limitMs: 150_000,
    flags: [],
    transport: 'auto',
    async drive(run) {
      const at = await run.rx.waitFor(isProgressAt(0.4), 60_000, 'progress at 40%');
      block(DROP_TCP);
      run.mark(
        `TCP between the hosts dropped at ${Math.round((Number(at.bytes) / Number(at.total)) * 100)}%`,
      );
    },
    async check(run, codes) {
      const problems = await resumedProblems(run, codes);
      for (const [side, p] of sides(run)) {
        const links = p.events.filter((e) => e.event === 'connected').map((e) => String(e.transport));
        if (links[0] !== 'tcp' || links.at(-1) !== 'webrtc')
          problems.push(`${side}: connected over ${links.join(', ')}, want tcp first and webrtc last`);
      }
      return problems;
    },
  },
];

// ------------------------------------------------------------------ running a case

interface Result {
  id: string;
  title: string;
  ok: boolean;
  ms: number;
  detail: string;
}

async function runCase(c: Case, source: Source): Promise<Result> {
  heal();
  if (c.initialRule !== undefined) block(c.initialRule);
  const out = fs.mkdtempSync(path.join(lab.work, 'out-'));
  // The faults are the data channel's (UDP, DTLS): keep the transfer on it, not
  // on the direct TCP path that would otherwise win the race here.
  const common = [
    '--signal',
    SIGNAL,
    '--ice-servers',
    '',
    '--timeout',
    '30',
    '--transport',
    c.transport ?? 'webrtc',
    '--json',
    ...c.flags,
  ];
  const t0 = Date.now();
  const timeline: string[] = [];
  const mark = (what: string): void => {
    timeline.push(`${seconds(Date.now() - t0)} ${what}`);
  };
  const rx = lab.run(NS.hostA, [...nodeScript('peer'), 'receive', '--out', out, '--yes', ...common]);
  let run: Run | undefined;
  let problems: string[];
  try {
    problems = await withLimit(
      (async (): Promise<string[]> => {
        const ready = await rx.waitFor('ready', 10_000);
        const tx = lab.run(NS.hostB, [
          ...nodeScript('peer'),
          'send',
          source.file,
          '--to',
          String(ready.code),
          ...common,
        ]);
        run = { rx, tx, out, source, t0, timeline, mark };
        mark('sender started');
        const [, rxCode, txCode] = await Promise.all([c.drive(run), rx.exited, tx.exited]);
        return c.check(run, { rx: rxCode, tx: txCode });
      })(),
      c.limitMs,
      `case took over ${seconds(c.limitMs)}`,
    );
  } catch (err) {
    problems = [(err as Error).message.split('\n')[0] ?? String(err)];
  } finally {
    await Promise.all([stop(rx), stop(run?.tx)]);
    heal();
    fs.rmSync(out, { recursive: true, force: true });
  }
  const ms = Date.now() - t0;
  const events = run === undefined ? [] : peerMarks(run);
  const lines = [...timeline, ...events].sort((a, b) => Number.parseFloat(a) - Number.parseFloat(b));
  const ok = problems.length === 0;
  const tails = ok
    ? []
    : [
        '  receiver (hostA), last events and stderr:',
        rx.tail(),
        '  sender (hostB), last events and stderr:',
        run?.tx.tail() ?? '    (not started)',
      ];
  const detail = [...problems.map((p) => `  problem: ${p}`), ...lines.map((l) => `  at ${l}`), ...tails].join(
    '\n',
  );
  return { id: c.id, title: c.title, ok, ms, detail };
}

// ------------------------------------------------------------------ main

async function makeSource(name: string, bytes: number): Promise<Source> {
  const file = path.join(lab.work, name);
  const started = Date.now();
  await writeRandomFile(file, bytes);
  const source = { file, bytes, sha256: await sha256File(file) };
  lab.log(`${name}: ${bytes / 1024 / 1024} MiB written in ${seconds(Date.now() - started)}`);
  return source;
}

async function main(): Promise<number> {
  buildTopology();
  lab.log(`namespaces ${Object.values(NS).join(', ')} up`);
  const signal = lab.run(NS.hub, [...nodeScript('signal'), '--host', '10.9.0.1', '--port', '8091', '--json']);
  await signal.waitFor('listening', 10_000);

  const only = process.env.FLAP_LAB_CASES?.split(',').map((s) => s.trim());
  const cases = CASES.filter((c) => only === undefined || only.includes(c.id));
  const big = cases.some((c) => c.big) ? await makeSource('big.bin', BIG_BYTES) : undefined;
  const small = cases.some((c) => !c.big) ? await makeSource('small.bin', SMALL_BYTES) : undefined;
  const results: Result[] = [];
  for (const c of cases) {
    lab.log(`case ${c.id} ${c.title} ...`);
    const source = c.big ? big : small;
    if (source === undefined) throw new Error('no source file');
    const result = await runCase(c, source);
    results.push(result);
    lab.log(`  ${result.ok ? 'PASS' : 'FAIL'} in ${seconds(result.ms)}\n${result.detail}`);
  }
  await stop(signal);

  process.stdout.write(`\nFlap lab results (dead-peer timeout ${PEER_SILENT_S} s)\n`);
  for (const r of results) {
    process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'}  case ${r.id} ${r.title} (${seconds(r.ms)})\n`);
    if (!r.ok) process.stdout.write(`${r.detail}\n`);
  }
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  return failed === 0 && results.length > 0 ? 0 : 1;
}

await lab.main(['ip', 'nft'], 'iproute2 nftables', main);
