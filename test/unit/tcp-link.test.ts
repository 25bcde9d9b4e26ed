/**
 * TcpLink over a real loopback connection with keys from a real handshake:
 * messages round-trip in order however the stream is cut, and a record that
 * is changed, oversized, or not the expected USE ends the link.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GCM_TAG_BYTES,
  LENGTH_BYTES,
  MAX_RECORD_PLAINTEXT,
  USE_RECORD,
} from '../../src/core/direct/protocol.js';
import type { PeerlaneError } from '../../src/core/errors.js';
import type { Handshaken } from '../../src/direct/handshake.js';
import { directKey, handshake } from '../../src/direct/handshake.js';
import { TcpLink } from '../../src/direct/tcp-link.js';
import { closed, socketPair } from '../../src/testing/sockets.js';
import { codeOf, withTimeout } from '../helpers.js';

const KiB = 1024;
const SIZES = [0, 1, 64 * KiB, 256 * KiB];
const key = directKey(randomBytes(32));
const opened: net.Socket[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

async function shaken(): Promise<[Handshaken, Handshaken]> {
  const { dialer, listener } = await socketPair();
  opened.push(dialer, listener);
  return Promise.all([
    handshake(dialer, 'dialer', key, { n: 0, role: 'offerer' }, 5_000),
    handshake(listener, 'listener', key, { n: 0, role: 'answerer' }, 5_000),
  ]);
}

async function links(expectUse = false): Promise<[TcpLink, TcpLink]> {
  const [d, l] = await shaken();
  return [
    new TcpLink(d.socket, d.keys, d.leftover, { expectUse: false }),
    new TcpLink(l.socket, l.keys, l.leftover, { expectUse }),
  ];
}

/**
 * A TcpLink on the listener's end and the dialer's raw socket, to write
 * records by hand; `write` sends bytes and waits until they have been read,
 * so each piece reaches the link as a chunk of its own.
 */
async function rawToLink(expectUse = false) {
  const [d, l] = await shaken();
  let arrived = 0;
  let sent = 0;
  l.socket.on('data', (chunk: Buffer) => {
    arrived += chunk.length;
  });
  const link = new TcpLink(l.socket, l.keys, l.leftover, { expectUse });
  let counter = 0n;
  return {
    link,
    raw: d.socket,
    /** A record as TcpLink would send it, sealed with the dialer's key and the next counter. */
    record(plain: Buffer): Buffer {
      const nonce = Buffer.alloc(12);
      nonce.writeBigUInt64BE(counter++, 4);
      const cipher = createCipheriv('aes-256-gcm', d.keys.seal, nonce);
      const body = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      const length = Buffer.alloc(LENGTH_BYTES);
      length.writeUInt32BE(body.length);
      return Buffer.concat([length, body]);
    },
    async write(bytes: Buffer): Promise<void> {
      sent += bytes.length;
      d.socket.write(bytes);
      while (arrived < sent && !l.socket.destroyed) await new Promise((r) => setImmediate(r));
    },
  };
}

function collect(link: TcpLink): Buffer[] {
  const got: Buffer[] = [];
  link.onMessage((m) => got.push(Buffer.from(m)));
  return got;
}

function closeReason(link: TcpLink): Promise<PeerlaneError> {
  return withTimeout(new Promise((resolve) => link.onClose(resolve)), 'the link closing');
}

async function until(check: () => boolean, what: string): Promise<void> {
  await withTimeout(
    (async () => {
      while (!check()) await new Promise((r) => setTimeout(r, 2));
    })(),
    what,
  );
}

const messages = (): Buffer[] => SIZES.map((n) => randomBytes(n));
const same = (a: Buffer[], b: Buffer[]): boolean =>
  a.length === b.length && a.every((m, i) => m.equals(b[i] ?? Buffer.alloc(0)));

describe('TcpLink', () => {
  it('carries messages of 0, 1, 64 KiB and 256 KiB in order, both ways', async () => {
    const [a, b] = await links();
    const sent = messages();
    const back = messages();
    const atB = collect(b);
    const atA = collect(a);
    for (const m of sent) a.send(m);
    for (const m of back) b.send(m);
    await until(() => atB.length === sent.length && atA.length === back.length, 'every message');
    expect(same(atB, sent)).toBe(true);
    expect(same(atA, back)).toBe(true);
    expect(a.isOpen && b.isOpen).toBe(true);
    expect(a.fingerprints()).toEqual({ local: b.fingerprints().remote, remote: b.fingerprints().local });
  });

  it('refuses to send what does not fit one record', async () => {
    const [a] = await links();
    expect(a.maxMessageSize()).toBe(MAX_RECORD_PLAINTEXT);
    expect(codeOf(() => a.send(Buffer.alloc(MAX_RECORD_PLAINTEXT + 1)))).toBe('INTERNAL');
  });

  it('reassembles records fed one byte at a time', async () => {
    const { link, record, write } = await rawToLink();
    const got = collect(link);
    const sent = [Buffer.alloc(0), randomBytes(1), randomBytes(100)];
    for (const byte of Buffer.concat(sent.map(record))) await write(Buffer.from([byte]));
    expect(same(got, sent)).toBe(true);
  });

  it('reassembles records fed in odd-sized pieces that straddle them', async () => {
    const { link, record, write } = await rawToLink();
    const got = collect(link);
    const sent = messages();
    const stream = Buffer.concat(sent.map(record));
    const pieces = [1, 3, 7, 19, 4093, 65_537, 3];
    for (let at = 0, i = 0; at < stream.length; i++) {
      const n = pieces[i % pieces.length] ?? 1;
      await write(stream.subarray(at, at + n));
      at += n;
    }
    expect(same(got, sent)).toBe(true);
    // Two records in one write, too.
    const pair = [randomBytes(5), randomBytes(6)];
    await write(Buffer.concat(pair.map(record)));
    expect(same(got.slice(-2), pair)).toBe(true);
  });

  it('a flipped bit anywhere in a record closes the link with PEER_LOST and delivers nothing', async () => {
    for (const where of ['ciphertext', 'tag'] as const) {
      const { link, record, write } = await rawToLink();
      const got = collect(link);
      const reason = closeReason(link);
      const bad = record(randomBytes(50));
      const at = where === 'ciphertext' ? LENGTH_BYTES + 10 : bad.length - 1;
      bad[at] = (bad[at] ?? 0) ^ 0x01;
      await write(bad);
      expect(await reason).toMatchObject({
        code: 'PEER_LOST',
        message: expect.stringMatching(/failed authentication/),
      });
      expect(got).toEqual([]);
      expect(link.isOpen).toBe(false);
      expect(codeOf(() => link.send(Buffer.from('x')))).toBe('PEER_LOST');
    }
  });

  it('a record replayed out of order fails authentication (counter nonces)', async () => {
    const { link, record, write } = await rawToLink();
    const got = collect(link);
    const reason = closeReason(link);
    const first = record(Buffer.from('first'));
    await write(first);
    await write(first);
    expect(await reason).toMatchObject({ code: 'PEER_LOST' });
    expect(got.map(String)).toEqual(['first']);
  });

  it('a length header above a record plus its tag, or below a tag, closes the link', async () => {
    for (const length of [MAX_RECORD_PLAINTEXT + GCM_TAG_BYTES + 1, 0xffffffff, GCM_TAG_BYTES - 1]) {
      const { link, raw, write } = await rawToLink();
      const got = collect(link);
      const reason = closeReason(link);
      const header = Buffer.alloc(LENGTH_BYTES);
      header.writeUInt32BE(length);
      await write(header); // no body: the header alone must end it
      expect(await reason).toMatchObject({
        code: 'PEER_LOST',
        message: expect.stringMatching(new RegExp(`a record of ${length} bytes`)),
      });
      expect(got).toEqual([]);
      await closed(raw);
    }
  });

  it('the largest record that may come is accepted', async () => {
    const { link, record, write } = await rawToLink();
    const got = collect(link);
    const big = randomBytes(MAX_RECORD_PLAINTEXT);
    await write(record(big));
    expect(same(got, [big])).toBe(true);
  });

  it('with expectUse, takes USE first and delivers what follows, not USE itself', async () => {
    const [a, b] = await links(true);
    const got = collect(b);
    let used = false;
    void b.used.then(() => {
      used = true;
    });
    a.sendUse();
    a.send(Buffer.from('after use'));
    await until(() => got.length === 1, 'the message after USE');
    expect(used).toBe(true);
    expect(got.map(String)).toEqual(['after use']);
  });

  it('with expectUse, a first record other than USE closes the link', async () => {
    const [a, b] = await links(true);
    const got = collect(b);
    const reason = closeReason(b);
    let used = false;
    void b.used.then(() => {
      used = true;
    });
    a.send(Buffer.from([USE_RECORD[0] ?? 0, 0]));
    expect(await reason).toMatchObject({
      code: 'PEER_LOST',
      message: expect.stringMatching(/other than USE/),
    });
    expect(got).toEqual([]);
    expect(used).toBe(false);
    // The peer learns it too.
    expect(await closeReason(a)).toMatchObject({ code: 'PEER_LOST' });
  });

  it('keeps messages that arrive before onMessage, and delivers them in order', async () => {
    const { link, record, write } = await rawToLink();
    const sent = [Buffer.from('one'), Buffer.from('two'), Buffer.from('three')];
    await write(Buffer.concat(sent.map(record)));
    const got = collect(link);
    expect(got.map(String)).toEqual(['one', 'two', 'three']);
    await write(record(Buffer.from('four')));
    expect(got.map(String)).toEqual(['one', 'two', 'three', 'four']);
  });

  it('close() lets the last queued message arrive, then the peer sees the link close', async () => {
    const [a, b] = await links();
    const got = collect(b);
    const reason = closeReason(b);
    let aHeard = false;
    a.onClose(() => {
      aHeard = true;
    });
    const last = randomBytes(200 * KiB);
    a.send(Buffer.from('error frame'));
    a.send(last);
    a.close();
    expect(await reason).toMatchObject({ code: 'PEER_LOST' });
    expect(got.length).toBe(2);
    expect(got[1]?.equals(last)).toBe(true);
    expect(codeOf(() => a.send(Buffer.from('x')))).toBe('PEER_LOST');
    expect(aHeard).toBe(false); // who closed it is not told it closed
  });
});
