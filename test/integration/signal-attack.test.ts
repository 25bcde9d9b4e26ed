/**
 * A real transfer through a signal server under attack: garbage and over-cap
 * connections flood the same server, and the transfer still completes, verified.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/core/events.js';
import { MAX_SIGNAL_MESSAGE_BYTES } from '../../src/core/signaling/protocol.js';
import { receive } from '../../src/session/receive.js';
import { send } from '../../src/session/send.js';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { Harness, LOOPBACK } from '../../src/testing/harness.js';
import {
  binaryGarbage,
  canBind,
  expectEmpty,
  expectServes,
  OTHER_ADDRESS,
  SignalBench,
  sleep,
} from '../../src/testing/signal-clients.js';
import { withTimeout } from '../helpers.js';

const bench = new SignalBench();
afterEach(() => bench.cleanup());

const otherAddressWorks = await canBind(OTHER_ADDRESS);

describe('a real transfer while the server is under attack', () => {
  it('completes, verified, while garbage and over-cap connections flood the same server', async () => {
    const h = new Harness();
    try {
      const s = await bench.start({ maxConnectionsPerIp: 8, handshakeTimeoutMs: 1_000 });
      const signal = { host: s.host, port: s.port };
      const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
      const src = await h.tempDir('peerlane-src-');
      const out = await h.tempDir('peerlane-out-');
      const file = path.join(src, 'payload.bin');
      await writeRandomFile(file, 20 * 1024 * 1024);

      // Where the flood comes from: another address if we have one, so that it
      // can run from the start, signaling included; else ours, once the peers
      // are past signaling, so that it never takes the cap the peers need.
      const floodFrom = otherAddressWorks ? { localAddress: OTHER_ADDRESS } : {};
      const seen = new Map<string, number>();
      let stop = false;
      const flood = async (): Promise<void> => {
        const payloads = [
          'garbage\n',
          Buffer.concat([binaryGarbage(2048), Buffer.from('\n')]),
          Buffer.alloc(MAX_SIGNAL_MESSAGE_BYTES + 1, 'a'),
          '', // silent: holds a connection until it is refused or dropped
        ];
        while (!stop) {
          const wave = Array.from({ length: 40 }, (_, i) => {
            const c = bench.rawClient(s, floodFrom);
            c.socket.on('connect', () => c.socket.write(payloads[i % payloads.length] ?? ''));
            return c;
          });
          await Promise.race([Promise.all(wave.map((c) => c.closed)), sleep(200)]);
          for (const c of wave) {
            for (const l of c.lines) seen.set(String(l.code), (seen.get(String(l.code)) ?? 0) + 1);
            c.socket.destroy();
          }
        }
      };
      let flooding: Promise<void> | undefined;
      if (otherAddressWorks) flooding = flood();

      let ready!: (code: string) => void;
      const code = new Promise<string>((resolve) => {
        ready = resolve;
      });
      const events: PeerEvent[] = [];
      // `yes` is spread in, so this compiles whether or not receive() has that option yet.
      const consent = { yes: true };
      const received = receive({
        signal,
        rtc,
        outDir: out,
        ...consent,
        onEvent: (e) => {
          events.push(e);
          if (e.event === 'ready') ready(e.code);
          if (e.event === 'progress' && flooding === undefined) flooding = flood();
        },
      });
      received.catch(() => {});
      const sent = send({ signal, rtc, code: await withTimeout(code, 'the receiver ready'), paths: [file] });
      try {
        await Promise.all([sent, received]);
      } finally {
        stop = true;
        await flooding;
      }

      const expected = await sha256File(file);
      expect(await sha256File(path.join(out, 'payload.bin'))).toBe(expected);
      expect((await received).files[0]?.sha256).toBe(expected);
      // The flood did happen, and was refused both ways.
      expect(seen.get('RATE_LIMITED') ?? 0).toBeGreaterThan(0);
      expect((seen.get('BAD_MESSAGE') ?? 0) + (seen.get('MESSAGE_TOO_LARGE') ?? 0)).toBeGreaterThan(0);
      await expectEmpty(s.server);
      await expectServes(bench, s);
    } finally {
      await h.cleanup();
    }
  });
});
