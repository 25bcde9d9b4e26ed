/**
 * The direct TCP path in real sessions, in one process: a real signal server
 * on port 0, real peers, TCP and data channels on loopback. Which link wins
 * follows --transport on each side; the offerer is whoever joins with the code.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Transport } from '../../src/config.js';
import type { PeerEvent } from '../../src/core/events.js';
import { DirectAttempt } from '../../src/direct/attempt.js';
import { TcpLink } from '../../src/direct/tcp-link.js';
import type { RtcOptions } from '../../src/rtc/connect.js';
import { receive } from '../../src/session/receive.js';
import { send } from '../../src/session/send.js';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { EventOf } from '../../src/testing/harness.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';
import { startReceiver, startSender } from '../../src/testing/in-process.js';

const TIMEOUT_MS = 10_000;
const { h, server } = useSignalServer({ beforeEach, afterEach });
afterEach(() => {
  vi.restoreAllMocks();
});

function rtcFor(transport?: Transport, more: Partial<RtcOptions> = {}): RtcOptions {
  return { iceServers: [], bindAddress: LOOPBACK, timeoutMs: TIMEOUT_MS, transport, ...more };
}

function connected(events: PeerEvent[]): EventOf<'connected'> | undefined {
  return events.find((e): e is EventOf<'connected'> => e.event === 'connected');
}

async function fileOf(bytes: number): Promise<string> {
  const file = path.join(await h.tempDir(), 'payload.bin');
  await writeRandomFile(file, bytes);
  return file;
}

interface Sides {
  tx?: Transport | undefined;
  rx?: Transport | undefined;
  /** Who waits with a code: it is the answerer; the one that joins is the offerer. */
  first?: 'receiver' | 'sender';
  bytes?: number;
  verify?: boolean;
}

/** Move one file between a sender and a receiver with these transports; both sides' `connected` events. */
async function transfer({ tx, rx, first = 'receiver', bytes = 300_000, verify = false }: Sides) {
  const file = await fileOf(bytes);
  const out = await h.tempDir();
  const txEvents: PeerEvent[] = [];
  const rxEvents: PeerEvent[] = [];
  const sendOptions = {
    signal: server,
    rtc: rtcFor(tx),
    paths: [file],
    verify,
    onEvent: (e: PeerEvent) => txEvents.push(e),
  };
  const receiveOptions = {
    signal: server,
    rtc: rtcFor(rx),
    outDir: out,
    verify,
    onEvent: (e: PeerEvent) => rxEvents.push(e),
  };
  if (first === 'receiver') {
    const waiting = startReceiver(receiveOptions);
    await send({ ...sendOptions, code: await waiting.code });
    await waiting.result;
  } else {
    const waiting = startSender(sendOptions);
    await receive({ ...receiveOptions, code: await waiting.code });
    await waiting.result;
  }
  expect(await sha256File(path.join(out, 'payload.bin'))).toBe(await sha256File(file));
  return { tx: connected(txEvents), rx: connected(rxEvents) };
}

describe('--transport', () => {
  it('auto (the default) moves a file over the direct TCP path on both sides', async () => {
    const listen = vi.spyOn(DirectAttempt, 'listen');
    const seen = await transfer({});
    expect(seen.tx).toMatchObject({ transport: 'tcp', path: 'direct', local: 'host', remote: 'host' });
    expect(seen.rx).toMatchObject({ transport: 'tcp', path: 'direct' });
    expect(listen).toHaveBeenCalledTimes(2);
  });

  it('auto with the sender first (sender answers, receiver offers) also takes tcp', async () => {
    const seen = await transfer({ first: 'sender' });
    expect([seen.tx?.transport, seen.rx?.transport]).toEqual(['tcp', 'tcp']);
  });

  it('webrtc on both sides uses the data channel and never listens for TCP', async () => {
    const listen = vi.spyOn(DirectAttempt, 'listen');
    const seen = await transfer({ tx: 'webrtc', rx: 'webrtc' });
    expect([seen.tx?.transport, seen.rx?.transport]).toEqual(['webrtc', 'webrtc']);
    expect(listen).not.toHaveBeenCalled();
  });

  it('tcp on both sides moves the file over tcp', async () => {
    const seen = await transfer({ tx: 'tcp', rx: 'tcp' });
    expect([seen.tx?.transport, seen.rx?.transport]).toEqual(['tcp', 'tcp']);
  });

  // Receiver first: the sender joins and offers. Sender first: the receiver does.
  for (const first of ['receiver', 'sender'] as const) {
    const offerer = first === 'receiver' ? 'tx' : 'rx';
    const answerer = first === 'receiver' ? 'rx' : 'tx';
    it(`webrtc offerer (${offerer}) against an auto answerer (${answerer}) agree on webrtc`, async () => {
      const seen = await transfer({ first, [offerer]: 'webrtc', [answerer]: 'auto' });
      expect([seen.tx?.transport, seen.rx?.transport]).toEqual(['webrtc', 'webrtc']);
    });
    it(`auto offerer (${offerer}) against a webrtc answerer (${answerer}) agree on webrtc`, async () => {
      const seen = await transfer({ first, [offerer]: 'auto', [answerer]: 'webrtc' });
      expect([seen.tx?.transport, seen.rx?.transport]).toEqual(['webrtc', 'webrtc']);
    });
  }

  it('auto offerer against a tcp answerer, and tcp offerer against an auto answerer, take tcp', async () => {
    const one = await transfer({ tx: 'auto', rx: 'tcp' });
    expect([one.tx?.transport, one.rx?.transport]).toEqual(['tcp', 'tcp']);
    const two = await transfer({ tx: 'tcp', rx: 'auto' });
    expect([two.tx?.transport, two.rx?.transport]).toEqual(['tcp', 'tcp']);
  });

  it('auto on both sides where TCP cannot connect: the offerer says it took the data channel, and both use it', async () => {
    // Neither side dials: as if a firewall dropped every TCP connection.
    const dial = vi.spyOn(DirectAttempt.prototype, 'dial').mockImplementation(() => {});
    for (const first of ['receiver', 'sender'] as const) {
      const seen = await transfer({ first });
      expect([seen.tx?.transport, seen.rx?.transport]).toEqual(['webrtc', 'webrtc']);
    }
    expect(dial).toHaveBeenCalled();
  });

  it('tcp against webrtc cannot meet: CONNECT_TIMEOUT, and nothing written', async () => {
    const file = await fileOf(1000);
    const out = await h.tempDir();
    // The receiver's deadline comes first, so that each side ends on its own
    // deadline: with equal ones, whichever ended first left the signal server,
    // and the other could hear PEER_LOST before its own timeout.
    const rx = startReceiver({ signal: server, rtc: rtcFor('webrtc', { timeoutMs: 2_000 }), outDir: out });
    const tx = send({
      signal: server,
      rtc: rtcFor('tcp', { timeoutMs: 4_000 }),
      paths: [file],
      code: await rx.code,
    });
    await expect(tx).rejects.toMatchObject({
      code: 'CONNECT_TIMEOUT',
      message: expect.stringMatching(/--transport tcp/),
    });
    await expect(rx.result).rejects.toMatchObject({ code: 'CONNECT_TIMEOUT' });
    expect(await listTree(out)).toEqual([]);
  });

  it('--relay never opens the direct path, even with --transport tcp: without TURN it is BAD_CONFIG', async () => {
    const listen = vi.spyOn(DirectAttempt, 'listen');
    const file = await fileOf(1000);
    const out = await h.tempDir();
    const relay = { iceTransportPolicy: 'relay' as const };
    const rx = startReceiver({ signal: server, rtc: rtcFor('auto', relay), outDir: out });
    const tx = send({ signal: server, rtc: rtcFor('tcp', relay), paths: [file], code: await rx.code });
    await expect(tx).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    await expect(rx.result).rejects.toMatchObject({ code: 'BAD_CONFIG' });
    expect(listen).not.toHaveBeenCalled();
    expect(await listTree(out)).toEqual([]);
  });

  it('a 64 MiB file over tcp arrives intact', async () => {
    const seen = await transfer({ tx: 'tcp', rx: 'auto', bytes: 64 * 1024 * 1024 });
    expect([seen.tx?.transport, seen.rx?.transport]).toEqual(['tcp', 'tcp']);
  });

  it('--verify shows the same four words on both sides over tcp, and other words on the next session', async () => {
    const one = await transfer({ verify: true });
    expect(one.tx?.transport).toBe('tcp');
    expect(one.rx?.verify).toMatch(/^[a-z]+ [a-z]+ [a-z]+ [a-z]+$/);
    expect(one.tx?.verify).toBe(one.rx?.verify);
    const two = await transfer({ verify: true });
    expect(two.tx?.verify).toBe(two.rx?.verify);
    expect(two.tx?.verify).not.toBe(one.tx?.verify);
  });

  type Cut = 'sender' | 'receiver' | 'receiver while the sender streams';

  /**
   * Cut the first TCP connection: on the sender's side once it has sent a few
   * MiB; on the receiver's once it has sent 20 small replies (credits); or on
   * the receiver's at the moment the sender has sent a few MiB, so the sender,
   * with credit in hand, learns of it by a send failing.
   */
  function cutFirstLink(by: Cut): () => boolean {
    const original = TcpLink.prototype.send;
    const sent = new Map<TcpLink, { bytes: number; messages: number }>();
    let cut = false;
    const destroy = (link: TcpLink): void => {
      cut = true;
      (Reflect.get(link, 'socket') as { destroy(): void }).destroy();
    };
    vi.spyOn(TcpLink.prototype, 'send').mockImplementation(function (this: TcpLink, data: Uint8Array) {
      original.call(this, data);
      const mine = sent.get(this) ?? { bytes: 0, messages: 0 };
      const { bytes, messages } = { bytes: mine.bytes + data.length, messages: mine.messages + 1 };
      sent.set(this, { bytes, messages });
      if (cut) return;
      if (by === 'receiver') {
        if (messages >= 20 && bytes < 100_000) destroy(this);
      } else if (bytes > 4 * 1024 * 1024) {
        const receiver = [...sent.keys()].find((l) => l !== this);
        destroy(by === 'sender' || receiver === undefined ? this : receiver);
      }
    });
    return () => cut;
  }

  for (const by of ['sender', 'receiver', 'receiver while the sender streams'] as const) {
    it(`a TCP connection cut mid-transfer by the ${by}: both sides reconnect over a new one and resume`, async () => {
      const wasCut = cutFirstLink(by);
      const file = await fileOf(24 * 1024 * 1024);
      const out = await h.tempDir();
      const rx = startReceiver({ signal: server, rtc: rtcFor('tcp'), outDir: out });
      const txEvents: PeerEvent[] = [];
      const tx = {
        signal: server,
        rtc: rtcFor('tcp'),
        paths: [file],
        onEvent: (e: PeerEvent) => txEvents.push(e),
      };
      await send({ ...tx, code: await rx.code });
      await rx.result;
      expect(wasCut()).toBe(true);
      expect(await sha256File(path.join(out, 'payload.bin'))).toBe(await sha256File(file));
      for (const events of [txEvents, rx.events]) {
        expect(events.find((e) => e.event === 'reconnecting')).toMatchObject({ attempt: 1 });
        const transports = events
          .filter((e) => e.event === 'connected')
          .map((e) => 'transport' in e && e.transport);
        expect(transports).toEqual(['tcp', 'tcp']);
      }
    });
  }
});
