/**
 * `npm run test:nat`: the NAT lab. Builds five network namespaces, runs the
 * real signal server, coturn and `peer receive` / `peer send` processes in
 * them, and checks for each case that the file arrives intact over the
 * expected path, or that the failure is the expected clear error. Needs root,
 * iproute2, nftables, conntrack and coturn (see .ci/run).
 *
 *                     pub ("the internet": signal server :8091 tcp+udp, :8092 without TURN, coturn :3478)
 *         198.51.100.1 /            \ 203.0.113.1
 *        198.51.100.2 /              \ 203.0.113.2
 *                natA (nftables)    natB (nftables)
 *            10.1.0.1 |                | 10.2.0.1
 *            10.1.0.2 |                | 10.2.0.2
 *               hostA (peer receive)  hostB (peer send)
 *
 * A NAT is endpoint-independent with plain `masquerade` (Linux keeps the
 * source port), symmetric with `masquerade fully-random` (a new port per
 * destination). Both drop unsolicited inbound packets, so a direct path needs
 * hole punching. Nothing touches the host's own network, and every namespace
 * and process is removed at the end, on failure or Ctrl-C too.
 *
 * Each NAT also counts the UDP bytes it forwards by path (to or from the
 * public server: relay; to or from the other NAT: direct). A case that
 * connects passes only if the path each side reported last (`connected`, or
 * a later `path-changed`) is the one that carried most of its bytes.
 *
 * Knobs for debugging: NAT_LAB_CASES=3,6 runs only those cases;
 * NAT_LAB_REPEAT=270 runs each of them that many times (a soak: how often a
 * TURN connection hits libdatachannel's DTLS stall, and that the watchdog's
 * retry mends it every time);
 * NAT_LAB_COTURN_LOG=/tmp/coturn.log writes coturn's verbose log there;
 * PEERLANE_DEBUG_ICE=1 makes the peers print libjuice's log; PEERLANE_ISOLATE=1 runs them
 * with --isolate (a frozen attempt is then healed, and counted, within the run).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { issueTurnCredentials } from '../src/server/turn.js';
import { sha256File, writeRandomFile } from '../src/testing/files.js';
import type { Proc } from './lab/netns.js';
import { Lab, nodeScript, sh, sleep, stop, withLimit } from './lab/netns.js';

type Nat = 'eim' | 'symmetric';

interface Case {
  name: string;
  natA: Nat;
  natB: Nat;
  ice: string;
  /** Signal server port: 8091 issues TURN credentials, 8092 does not. */
  signalPort: number;
  /** Extra flags for the receiver (hostA) and the sender (hostB). */
  rxFlags: string[];
  txFlags: string[];
  /** --transport for both peers: webrtc (the default here) tests ICE alone. */
  transport?: 'auto' | 'webrtc';
  /** Both NATs drop every UDP packet (a network that allows only TCP). */
  blockUdp?: boolean;
  expect: { path: 'direct' | 'relay'; transport?: 'relay' } | { error: string; messageIncludes: string[] };
}

const TURN_SECRET = 'nat-lab-secret';
/** What the README's coturn config denies as relay destinations. */
const DENIED_PEER_RANGES = [
  '0.0.0.0-0.255.255.255',
  '10.0.0.0-10.255.255.255',
  '100.64.0.0-100.127.255.255',
  '127.0.0.0-127.255.255.255',
  '169.254.0.0-169.254.255.255',
  '172.16.0.0-172.31.255.255',
  '192.168.0.0-192.168.255.255',
];
const PUB = '198.51.100.1';
const ID = `pl${process.pid % 100000}`;
const NS = {
  pub: `${ID}-pub`,
  natA: `${ID}-natA`,
  natB: `${ID}-natB`,
  hostA: `${ID}-hostA`,
  hostB: `${ID}-hostB`,
} as const;
/** Peers give up on ICE after this; a failing case must end well before CASE_LIMIT_MS. */
const PEER_TIMEOUT_S = 12;
/** The signal server that relays (RELAY_ENABLED), for the UDP-blocked case. */
const RELAY_SIGNAL_PORT = 8093;
const CASE_LIMIT_MS = 45_000;
const FILE_BYTES = 4 * 1024 * 1024;

const lab = new Lab('nat-lab');

// ------------------------------------------------------------------ topology

function buildTopology(): void {
  for (const ns of Object.values(NS)) lab.addNamespace(ns);
  lab.link(NS.pub, 'toA', '198.51.100.1/24', NS.natA, 'wan', '198.51.100.2/24');
  lab.link(NS.pub, 'toB', '203.0.113.1/24', NS.natB, 'wan', '203.0.113.2/24');
  lab.link(NS.natA, 'lan', '10.1.0.1/24', NS.hostA, 'eth0', '10.1.0.2/24');
  lab.link(NS.natB, 'lan', '10.2.0.1/24', NS.hostB, 'eth0', '10.2.0.2/24');
  lab.defaultRoute(NS.natA, '198.51.100.1');
  lab.defaultRoute(NS.natB, '203.0.113.1');
  lab.defaultRoute(NS.hostA, '10.1.0.1');
  lab.defaultRoute(NS.hostB, '10.2.0.1');
  for (const ns of [NS.pub, NS.natA, NS.natB]) lab.router(ns);
}

/** Each NAT's public (wan) address: what the other side's direct path talks to. */
const WAN_A = '198.51.100.2';
const WAN_B = '203.0.113.2';

/**
 * Byte counters on a NAT router, by path: UDP to or from the public server
 * (coturn's listening and relay ports, and a little STUN) is the relay path;
 * UDP to or from the other NAT is the direct path. Forwarded packets carry
 * the real remote address both ways (the reply's destination is already the
 * host's again, its source the remote), so one rule per direction counts all.
 */
function countingTable(otherWan: string): string {
  const rule = (match: string, path: string): string =>
    `    meta l4proto { udp, tcp } ${match} counter comment "${path}"`;
  return `
table ip count {
  chain forward {
    type filter hook forward priority filter - 10; policy accept;
${rule(`ip daddr ${PUB}`, 'relay')}
${rule(`ip saddr ${PUB}`, 'relay')}
${rule(`ip daddr ${otherWan}`, 'direct')}
${rule(`ip saddr ${otherWan}`, 'direct')}
  }
}
`;
}

/** Bytes a NAT forwarded since its case began, by path (signaling's few KiB count as relay). */
function bytesByPath(ns: string): Record<'direct' | 'relay', number> {
  const listing = sh(['nft', 'list', 'table', 'ip', 'count'], { ns });
  const bytes = { direct: 0, relay: 0 };
  for (const m of listing.matchAll(/bytes (\d+) comment "(direct|relay)"/g))
    bytes[m[2] as 'direct' | 'relay'] += Number(m[1]);
  return bytes;
}

const mib = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

/**
 * The path a side reported last (its `connected`, or a later `path-changed`)
 * must be the one its NAT saw carry most of the bytes, and at least half the file.
 */
function pathProblems(side: string, p: Proc, ns: string): { problems: string[]; note: string } {
  const reported = p.events.filter((e) => e.event === 'connected' || e.event === 'path-changed').at(-1)?.path;
  const bytes = bytesByPath(ns);
  const carried = bytes.direct >= bytes.relay ? 'direct' : 'relay';
  const note = `${side} NAT: direct ${mib(bytes.direct)}, relay ${mib(bytes.relay)}`;
  const problems: string[] = [];
  if (reported !== carried) problems.push(`${side} reported path ${String(reported)}, but ${note}`);
  if (bytes[carried] < FILE_BYTES / 2)
    problems.push(`${side}: less than half the file crossed its NAT (${note})`);
  return { problems, note };
}

/** NAT and a stateful firewall on a router: out from the LAN is mapped, unsolicited inbound is dropped. */
function configureNat(ns: string, kind: Nat, blockUdp = false): void {
  sh(['nft', 'flush', 'ruleset'], { ns });
  // Fresh counters for each case.
  sh(['nft', '-f', '-'], { ns, input: countingTable(ns === NS.natA ? WAN_B : WAN_A) });
  const masquerade = kind === 'eim' ? 'masquerade' : 'masquerade fully-random';
  sh(['nft', '-f', '-'], {
    ns,
    input: `
table ip lab {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ${masquerade}
  }
  chain forward {
    type filter hook forward priority filter; policy drop;${blockUdp ? '\n    meta l4proto udp drop' : ''}
    ct state established,related accept
    iifname "lan" oifname "wan" accept
  }
  chain input {
    type filter hook input priority filter; policy drop;
    iifname "lo" accept
    ct state established,related accept
    iifname "lan" accept
  }
}
`,
  });
}

function flushConntrack(): void {
  for (const ns of [NS.pub, NS.natA, NS.natB]) sh(['conntrack', '-F'], { ns, allowFail: true });
}

// ------------------------------------------------------------------ cases

function expiredTurnUrl(): string {
  // REST credentials that expired an hour ago, as the signal server would have
  // issued them; percent-encoded, as a turn: URL needs.
  const creds = issueTurnCredentials(TURN_SECRET, 600, { id: 'expired', nowMs: Date.now() - 3_600_000 });
  return `turn:${encodeURIComponent(creds.username)}:${encodeURIComponent(creds.password)}@${PUB}:3478`;
}

const CASES: Case[] = [
  {
    name: '1 EIM/EIM, signal STUN',
    natA: 'eim',
    natB: 'eim',
    ice: 'signal STUN (default), --direct-only',
    signalPort: 8091,
    rxFlags: ['--direct-only'],
    txFlags: ['--direct-only'],
    expect: { path: 'direct' },
  },
  {
    name: '2 symmetric/symmetric, STUN only',
    natA: 'symmetric',
    natB: 'symmetric',
    ice: 'signal STUN, --direct-only',
    signalPort: 8091,
    rxFlags: ['--direct-only'],
    txFlags: ['--direct-only'],
    expect: { error: 'ICE_FAILED', messageIncludes: ['srflx', 'TURN'] },
  },
  {
    name: '3 symmetric/symmetric, STUN + TURN REST',
    natA: 'symmetric',
    natB: 'symmetric',
    ice: 'signal STUN + issued TURN credentials (default)',
    signalPort: 8091,
    rxFlags: [],
    txFlags: [],
    expect: { path: 'relay' },
  },
  {
    name: '4 EIM/EIM, --relay',
    natA: 'eim',
    natB: 'eim',
    ice: 'signal STUN + issued TURN, --relay on both',
    signalPort: 8091,
    rxFlags: ['--relay'],
    txFlags: ['--relay'],
    expect: { path: 'relay' },
  },
  {
    name: '5 symmetric/symmetric, expired TURN',
    natA: 'symmetric',
    natB: 'symmetric',
    ice: 'STUN + expired REST credentials in --ice-servers (server without TURN)',
    signalPort: 8092,
    rxFlags: ['--ice-servers', `stun:${PUB}:8092,${expiredTurnUrl()}`],
    txFlags: ['--ice-servers', `stun:${PUB}:8092,${expiredTurnUrl()}`],
    expect: { error: 'ICE_FAILED', messageIncludes: ['expired', 'no relay address'] },
  },
  {
    name: '6 EIM/symmetric, STUN + TURN',
    natA: 'eim',
    natB: 'symmetric',
    ice: 'signal STUN + issued TURN credentials (default)',
    signalPort: 8091,
    rxFlags: [],
    txFlags: [],
    expect: { path: 'relay' },
  },
  {
    name: '7 UDP blocked, signal server relay',
    natA: 'eim',
    natB: 'eim',
    ice: 'both NATs drop all UDP; --transport auto, server with RELAY_ENABLED',
    signalPort: RELAY_SIGNAL_PORT,
    rxFlags: [],
    txFlags: [],
    transport: 'auto',
    blockUdp: true,
    expect: { path: 'relay', transport: 'relay' },
  },
  {
    name: '8 UDP blocked, --direct-only',
    natA: 'eim',
    natB: 'eim',
    ice: 'both NATs drop all UDP; --direct-only on a server with RELAY_ENABLED',
    signalPort: RELAY_SIGNAL_PORT,
    rxFlags: ['--direct-only'],
    txFlags: ['--direct-only'],
    transport: 'auto',
    blockUdp: true,
    expect: {
      error: 'ICE_FAILED',
      messageIncludes: ['UDP may be blocked', "signal server's relay", '--direct-only'],
    },
  },
];

interface Result {
  name: string;
  ok: boolean;
  detail: string;
}

/** Every TCP packet to or from the relaying signal server, as the server's host sees them. */
function startCapture(pcap: string): Proc {
  return lab.run(NS.pub, [
    'tcpdump',
    '-i',
    'any',
    '-U',
    '-w',
    pcap,
    'tcp',
    'port',
    String(RELAY_SIGNAL_PORT),
  ]);
}

/** Bytes of plaintext a relay case may show: the pcap must hold the file's worth, and none of its bytes. */
const PLAINTEXT_SAMPLES = 2000;
const SAMPLE_BYTES = 32;

function plaintextProblems(pcap: string, file: string): string[] {
  const captured = fs.readFileSync(pcap);
  const data = fs.readFileSync(file); // FILE_BYTES: small enough for the lab to hold
  if (captured.length < data.length)
    return [`the capture holds ${captured.length} bytes, less than the file`];
  let seen = 0;
  for (let i = 0; i < PLAINTEXT_SAMPLES; i++) {
    const at = Math.floor((i / PLAINTEXT_SAMPLES) * (data.length - SAMPLE_BYTES));
    if (captured.includes(data.subarray(at, at + SAMPLE_BYTES))) seen++;
  }
  return seen === 0
    ? []
    : [`${seen} of ${PLAINTEXT_SAMPLES} plaintext samples of the file crossed the relay`];
}

async function runCase(c: Case, file: string, fileHash: string): Promise<Result> {
  configureNat(NS.natA, c.natA, c.blockUdp);
  configureNat(NS.natB, c.natB, c.blockUdp);
  flushConntrack();
  const out = fs.mkdtempSync(path.join(lab.work, 'out-'));
  const pcap = path.join(out, '..', `relay-${Date.now()}.pcap`);
  const capture = c.signalPort === RELAY_SIGNAL_PORT ? startCapture(pcap) : undefined;
  if (capture !== undefined) await sleep(500); // tcpdump has no ready event
  // NAT traversal of the WebRTC path (ICE, STUN, TURN); the direct TCP path has the WAN lab.
  const common = [
    '--signal',
    `${PUB}:${c.signalPort}`,
    '--transport',
    c.transport ?? 'webrtc',
    '--timeout',
    String(PEER_TIMEOUT_S),
    '--json',
  ];
  const rx = lab.run(NS.hostA, [
    ...nodeScript('peer'),
    'receive',
    '--out',
    out,
    '--yes',
    ...common,
    ...c.rxFlags,
  ]);
  let tx: Proc | undefined;
  try {
    return await withLimit(
      (async (): Promise<Result> => {
        const ready = await rx.waitFor('ready', 10_000);
        tx = lab.run(NS.hostB, [
          ...nodeScript('peer'),
          'send',
          file,
          '--to',
          String(ready.code),
          ...common,
          ...c.txFlags,
        ]);
        const [rxCode, txCode] = await Promise.all([rx.exited, tx.exited]);
        const rxConnected = rx.events.find((e) => e.event === 'connected');
        const txConnected = tx.events.find((e) => e.event === 'connected');
        // The path each side reported last: ICE may switch pairs after the first.
        const finalPath = (p: Proc) =>
          p.events.filter((e) => e.event === 'connected' || e.event === 'path-changed').at(-1);
        const connectMs = tx.eventTimes.get('connected');
        if ('path' in c.expect) {
          const problems: string[] = [];
          if (rxCode !== 0 || txCode !== 0)
            problems.push(`exit ${rxCode}/${txCode}: ${rx.stderr}${tx.stderr}`);
          for (const [side, ev] of [
            ['receiver', finalPath(rx)],
            ['sender', finalPath(tx)],
          ] as const) {
            if (ev?.path !== c.expect.path)
              problems.push(`${side} path ${String(ev?.path)}, want ${c.expect.path}`);
            const transport = ev !== undefined && 'transport' in ev ? ev.transport : undefined;
            if (c.expect.transport !== undefined && transport !== c.expect.transport)
              problems.push(`${side} transport ${String(transport)}, want ${c.expect.transport}`);
            // Both hosts are behind NATs: a direct path must be reported as going through one.
            const reach = ev !== undefined && 'reach' in ev ? ev.reach : undefined;
            if (c.expect.path === 'direct' && reach !== 'through-nat')
              problems.push(`${side} reach ${String(reach)}, want through-nat`);
          }
          const counted = [pathProblems('receiver', rx, NS.natA), pathProblems('sender', tx, NS.natB)];
          problems.push(...counted.flatMap((x) => x.problems));
          if (capture !== undefined) {
            await stop(capture);
            problems.push(...plaintextProblems(pcap, file));
          }
          const changes = [...rx.events, ...tx.events].filter((e) => e.event === 'path-changed').length;
          const received = path.join(out, path.basename(file));
          const hash = fs.existsSync(received) ? await sha256File(received) : 'missing';
          if (hash !== fileHash) problems.push(`received file ${hash === 'missing' ? 'missing' : 'differs'}`);
          const done = rx.events.find((e) => e.event === 'done') as
            | { files?: { path?: string }[] }
            | undefined;
          if (done?.files?.[0]?.path !== received)
            problems.push(`done event path ${String(done?.files?.[0]?.path)}`);
          const pair = `${String(txConnected?.local)} -> ${String(txConnected?.remote)}`;
          const stalls = [...rx.events, ...tx.events].filter(
            (e) => e.event === 'reconnecting' && e.reason === 'dtls-stall',
          ).length;
          // peer --isolate: an attempt's process frozen (libdatachannel's lock cycle), killed and replaced.
          const freezes = [...rx.events, ...tx.events].filter(
            (e) => e.event === 'reconnecting' && String(e.message).includes('process stopped responding'),
          ).length;
          return {
            name: c.name,
            ok: problems.length === 0,
            detail:
              problems.length === 0
                ? `connected in ${connectMs} ms, path ${c.expect.path} (sender ${pair}), SHA-256 ok; ` +
                  (capture !== undefined ? `no plaintext in the relay's capture; ` : '') +
                  `bytes: ${counted.map((x) => x.note).join('; ')}` +
                  (changes > 0 ? `; ${changes} path-changed events` : '') +
                  (stalls > 0 ? `, after a DTLS stall (${stalls} watchdog retries)` : '') +
                  (freezes > 0 ? `, after ${freezes} frozen attempt process(es) healed` : '')
                : problems.join('; '),
          };
        }
        const want = c.expect;
        const problems: string[] = [];
        const times: string[] = [];
        for (const [side, p, code] of [
          ['receiver', rx, rxCode],
          ['sender', tx, txCode],
        ] as const) {
          const err = p.events.find((e) => e.event === 'error') as
            | { code?: string; message?: string }
            | undefined;
          if (code !== 1 || err?.code !== want.error) {
            problems.push(
              `${side}: exit ${code}, error ${String(err?.code)}, want ${want.error}: ${p.stderr}`,
            );
            continue;
          }
          for (const text of want.messageIncludes) {
            if (!err.message?.includes(text))
              problems.push(`${side}: message lacks "${text}": ${err.message}`);
          }
          times.push(`${side} after ${p.eventTimes.get('error')} ms`);
        }
        if (rxConnected !== undefined || txConnected !== undefined)
          problems.push('a side reported connected');
        const message = (tx.events.find((e) => e.event === 'error') as { message?: string } | undefined)
          ?.message;
        return {
          name: c.name,
          ok: problems.length === 0,
          detail:
            problems.length === 0 ? `${want.error} (${times.join(', ')}): ${message}` : problems.join('; '),
        };
      })(),
      CASE_LIMIT_MS,
      `case took over ${CASE_LIMIT_MS} ms`,
    );
  } catch (err) {
    if (process.env.NAT_LAB_GDB) dumpThreads([rx, tx]);
    return {
      name: c.name,
      ok: false,
      detail: [
        (err as Error).message,
        `  receiver:\n${rx.tail()}`,
        `  sender:\n${tx?.tail() ?? '    (not started)'}`,
      ].join('\n'),
    };
  } finally {
    await Promise.all([stop(rx), stop(tx), stop(capture)]);
  }
}

/**
 * NAT_LAB_GDB=1: every thread's stack of each peer still running when a case
 * times out, into the lab's log, to see where a hang sits (JS or native).
 */
function dumpThreads(procs: (Proc | undefined)[]): void {
  for (const p of procs) {
    const pid = p?.child.pid;
    if (pid === undefined || p?.child.exitCode !== null) continue;
    const gdb = spawnSync('gdb', ['-p', String(pid), '-batch', '-ex', 'thread apply all bt 12'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    lab.log(`threads of pid ${pid}:\n${gdb.stdout}`);
  }
}

// ------------------------------------------------------------------ main

async function main(): Promise<number> {
  buildTopology();
  lab.log(`namespaces ${Object.values(NS).join(', ')} up`);

  // coturn: UDP only, REST credentials only, no CLI (several may run on one machine).
  // node-datachannel never frees its allocations, which live 600 s, and each
  // run takes two: the whole dynamic range lasts a soak of thousands of runs
  // (500 ports ended the 300-run soak at run 240 with "TURN allocation failed").
  const coturn = lab.run(NS.pub, [
    'turnserver',
    '-n',
    '--no-cli',
    '--listening-ip',
    PUB,
    '--relay-ip',
    PUB,
    '--listening-port',
    '3478',
    '--min-port',
    '49152',
    '--max-port',
    '65535',
    '--use-auth-secret',
    '--static-auth-secret',
    TURN_SECRET,
    '--realm',
    'lab.peerlane',
    '--no-tcp',
    '--no-tls',
    '--no-dtls',
    '--no-tcp-relay',
    // As in the README: never relay into private, loopback or link-local space.
    ...DENIED_PEER_RANGES.flatMap((range) => ['--denied-peer-ip', range]),
    '--no-multicast-peers',
    '--fingerprint',
    '--userdb',
    path.join(lab.work, 'turndb'),
    '--pidfile',
    path.join(lab.work, 'turnserver.pid'),
    '--log-file',
    process.env.NAT_LAB_COTURN_LOG ?? 'stdout',
    '--simple-log',
    ...(process.env.NAT_LAB_COTURN_LOG ? ['--verbose'] : []),
  ]);
  // Every run pairs the same two NAT addresses: lift the per-address budgets
  // (TURN grants, joins, STUN answers) that a soak of hundreds of runs would
  // spend in minutes, so each run gets what one real pairing gets.
  const soakBudgets = {
    SIGNAL_TURN_GRANTS: '100000',
    SIGNAL_JOIN_RATE: '100000',
    SIGNAL_JOIN_BURST: '1000',
    SIGNAL_STUN_RATE: '100000',
    SIGNAL_STUN_BURST: '1000',
  };
  const signalEnv = { TURN_URLS: `turn:${PUB}:3478`, TURN_SECRET, TURN_TTL: '600', ...soakBudgets };
  const signal = lab.run(
    NS.pub,
    [...nodeScript('signal'), '--host', PUB, '--port', '8091', '--json'],
    signalEnv,
  );
  const signalRelay = lab.run(
    NS.pub,
    [
      ...nodeScript('signal'),
      '--host',
      PUB,
      '--port',
      String(RELAY_SIGNAL_PORT),
      '--relay-enabled',
      '--json',
    ],
    soakBudgets,
  );
  const signalNoTurn = lab.run(
    NS.pub,
    [...nodeScript('signal'), '--host', PUB, '--port', '8092', '--json'],
    soakBudgets,
  );
  await signal.waitFor('listening', 10_000);
  await signalNoTurn.waitFor('listening', 10_000);
  await signalRelay.waitFor('listening', 10_000);
  await sleep(500); // coturn has no ready event
  if (coturn.child.exitCode !== null) throw new Error(`coturn exited: ${coturn.stderr}`);

  const file = path.join(lab.work, 'payload.bin');
  await writeRandomFile(file, FILE_BYTES);
  const fileHash = await sha256File(file);
  const only = process.env.NAT_LAB_CASES?.split(',').map((s) => s.trim());
  const repeat = Math.max(1, Number(process.env.NAT_LAB_REPEAT ?? 1) || 1);
  const results: Result[] = [];
  for (const c of CASES) {
    if (only !== undefined && !only.includes(c.name.split(' ')[0] ?? '')) continue;
    for (let i = 0; i < repeat; i++) {
      lab.log(`case ${c.name} (${c.ice})${repeat > 1 ? ` run ${i + 1}/${repeat}` : ''} ...`);
      const result = await runCase(c, file, fileHash);
      results.push(result);
      lab.log(`  ${result.ok ? 'PASS' : 'FAIL'}: ${result.detail}`);
    }
  }
  if (repeat > 1) {
    const stalled = results.filter((r) => r.detail.includes('DTLS stall')).length;
    const healed = results.filter((r) => r.detail.includes('frozen attempt process')).length;
    process.stdout.write(
      `\n${results.length} runs: ${stalled} recovered from a DTLS stall, ${healed} from a frozen attempt process\n`,
    );
  }
  await Promise.all([stop(signal), stop(signalNoTurn), stop(signalRelay), stop(coturn)]);

  process.stdout.write('\nNAT lab results\n');
  for (const r of results)
    process.stdout.write(`${r.ok ? 'PASS' : 'FAIL'}  case ${r.name}: ${r.detail.split('\n')[0]}\n`);
  const failed = results.filter((r) => !r.ok).length;
  process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  return failed === 0 && results.length > 0 ? 0 : 1;
}

await lab.main(
  ['ip', 'nft', 'conntrack', 'turnserver', 'tcpdump'],
  'iproute2 nftables conntrack coturn tcpdump',
  main,
);
