/**
 * The direct path's handshake over real loopback sockets: the same key gives
 * both sides matching record keys, and anything else (a wrong key, a HELLO for
 * another attempt or version, a stranger, a mirror, silence) is refused.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DIRECT_VERSION,
  encodeHello,
  HELLO_BYTES,
  MAGIC,
  NONCE_BYTES,
} from '../../src/core/direct/protocol.js';
import { directKey, handshake } from '../../src/direct/handshake.js';
import { closed, readBytes, type SocketPair, socketPair } from '../../src/testing/sockets.js';
import { withTimeout } from '../helpers.js';

const TIMEOUT_MS = 5_000;
const key = directKey(randomBytes(32));
const opened: net.Socket[] = [];

async function pair(): Promise<SocketPair> {
  const p = await socketPair();
  opened.push(p.dialer, p.listener);
  return p;
}
afterEach(() => {
  for (const s of opened.splice(0)) s.destroy();
});

/** The listener's proof, computed here from the wire format rather than with handshake.ts. */
function listenerProof(k: Buffer, helloD: Uint8Array, helloL: Uint8Array): Buffer {
  return createHmac('sha256', k)
    .update('peerlane direct proof listener')
    .update(helloD)
    .update(helloL)
    .digest();
}

describe('direct handshake', () => {
  it('gives both sides the same keys, crosswise, with distinct keys per direction', async () => {
    const { dialer, listener } = await pair();
    const [d, l] = await Promise.all([
      handshake(dialer, 'dialer', key, { n: 3, role: 'offerer' }, TIMEOUT_MS),
      handshake(listener, 'listener', key, { n: 3, role: 'answerer' }, TIMEOUT_MS),
    ]);
    expect(d.keys.seal.equals(l.keys.open)).toBe(true);
    expect(d.keys.open.equals(l.keys.seal)).toBe(true);
    expect(d.keys.seal.equals(d.keys.open)).toBe(false);
    expect(d.keys.seal.equals(key)).toBe(false);
    expect(d.keys.localNonce).toBe(l.keys.remoteNonce);
    expect(d.keys.remoteNonce).toBe(l.keys.localNonce);
    expect(d.keys.localNonce).toMatch(new RegExp(`^[0-9a-f]{${NONCE_BYTES * 2}}$`));
    expect(d.leftover.length + l.leftover.length).toBe(0);
    expect(dialer.destroyed || listener.destroyed).toBe(false);
  });

  it('different connections of one attempt get different keys', async () => {
    const [one, two] = [await pair(), await pair()];
    const [a] = await Promise.all([
      handshake(one.dialer, 'dialer', key, { n: 0, role: 'offerer' }, TIMEOUT_MS),
      handshake(one.listener, 'listener', key, { n: 0, role: 'answerer' }, TIMEOUT_MS),
    ]);
    const [b] = await Promise.all([
      handshake(two.dialer, 'dialer', key, { n: 0, role: 'offerer' }, TIMEOUT_MS),
      handshake(two.listener, 'listener', key, { n: 0, role: 'answerer' }, TIMEOUT_MS),
    ]);
    expect(a.keys.seal.equals(b.keys.seal)).toBe(false);
  });

  it('keeps the bytes that arrive with the proof: nothing of the first record is lost', async () => {
    const { dialer, listener } = await pair();
    const extra = randomBytes(100);
    // A listener by hand: its HELLO, proof and the start of a record in one write.
    const theirs = encodeHello(5, 'answerer', randomBytes(NONCE_BYTES));
    void readBytes(listener, HELLO_BYTES).then((helloD) => {
      listener.pause();
      listener.write(Buffer.concat([theirs, listenerProof(key, helloD, theirs), extra]));
    });
    const d = await handshake(dialer, 'dialer', key, { n: 5, role: 'offerer' }, TIMEOUT_MS);
    expect(d.leftover.length).toBeGreaterThan(0);
    const rest = await withTimeout(
      readBytes(dialer, extra.length - d.leftover.length),
      'the rest of the bytes',
    );
    expect(Buffer.concat([d.leftover, rest]).equals(extra)).toBe(true);
  });

  it('a wrong key fails on both sides with BAD_MESSAGE and closes both sockets', async () => {
    const { dialer, listener } = await pair();
    const results = await Promise.allSettled([
      handshake(dialer, 'dialer', key, { n: 0, role: 'offerer' }, TIMEOUT_MS),
      handshake(listener, 'listener', directKey(randomBytes(32)), { n: 0, role: 'answerer' }, TIMEOUT_MS),
    ]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(r.status === 'rejected' ? r.reason : undefined).toMatchObject({
        code: 'BAD_MESSAGE',
        message: expect.stringMatching(/did not prove the session key/),
      });
    }
    expect(dialer.destroyed).toBe(true);
    expect(listener.destroyed).toBe(true);
  });

  it('refuses a HELLO for another attempt, on both sides', async () => {
    const { dialer, listener } = await pair();
    const results = await Promise.allSettled([
      handshake(dialer, 'dialer', key, { n: 1, role: 'offerer' }, TIMEOUT_MS),
      handshake(listener, 'listener', key, { n: 2, role: 'answerer' }, TIMEOUT_MS),
    ]);
    for (const r of results) {
      expect(r.status === 'rejected' ? r.reason : undefined).toMatchObject({
        code: 'BAD_MESSAGE',
        message: expect.stringMatching(/another attempt/),
      });
    }
    expect(dialer.destroyed && listener.destroyed).toBe(true);
  });

  /** What handshake() as the listener makes of a dialer that sends `hello`. */
  async function refusal(hello: Uint8Array): Promise<unknown> {
    const { dialer, listener } = await pair();
    dialer.on('error', () => {});
    dialer.write(hello);
    const result = handshake(listener, 'listener', key, { n: 0, role: 'answerer' }, TIMEOUT_MS).catch(
      (err: unknown) => err,
    );
    await closed(dialer); // the listener hung up on it
    expect(listener.destroyed).toBe(true);
    return result;
  }

  it('refuses a HELLO of another version', async () => {
    const hello = encodeHello(0, 'offerer', randomBytes(NONCE_BYTES));
    hello[MAGIC.length] = DIRECT_VERSION + 1;
    expect(await refusal(hello)).toMatchObject({
      code: 'BAD_MESSAGE',
      message: expect.stringMatching(new RegExp(`version ${DIRECT_VERSION + 1}`)),
    });
  });

  it('refuses a HELLO without the magic (a stranger speaking another protocol)', async () => {
    const http = Buffer.alloc(HELLO_BYTES, ' ');
    http.write('GET / HTTP/1.1\r\nHost: x\r\n');
    expect(await refusal(http)).toMatchObject({
      code: 'BAD_MESSAGE',
      message: expect.stringMatching(/not a peerlane/),
    });
    const flipped = encodeHello(0, 'offerer', randomBytes(NONCE_BYTES));
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(await refusal(flipped)).toMatchObject({ code: 'BAD_MESSAGE' });
  });

  it('refuses a peer that reflects every byte back, as either side', async () => {
    for (const side of ['dialer', 'listener'] as const) {
      const { dialer, listener } = await pair();
      const [ours, mirror] = side === 'dialer' ? [dialer, listener] : [listener, dialer];
      mirror.on('error', () => {});
      mirror.pipe(mirror);
      mirror.resume();
      const role = side === 'dialer' ? 'offerer' : 'answerer';
      // Our own HELLO comes back with our own role: refused before any proof.
      await expect(handshake(ours, side, key, { n: 0, role }, TIMEOUT_MS)).rejects.toMatchObject({
        code: 'BAD_MESSAGE',
        message: expect.stringMatching(/to ourselves/),
      });
      expect(ours.destroyed).toBe(true);
    }
  });

  it('refuses a HELLO from a side with our own role: a connection to ourselves', async () => {
    const hello = encodeHello(0, 'answerer', randomBytes(NONCE_BYTES));
    expect(await refusal(hello)).toMatchObject({
      code: 'BAD_MESSAGE',
      message: expect.stringMatching(/to ourselves/),
    });
  });

  it('gives up on a silent peer after its timeout, and closes the socket', async () => {
    const { dialer, listener } = await pair();
    listener.on('error', () => {});
    const started = Date.now();
    await expect(handshake(dialer, 'dialer', key, { n: 0, role: 'offerer' }, 300)).rejects.toMatchObject({
      code: 'PEER_LOST',
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(dialer.destroyed).toBe(true);
    await closed(listener);
  });

  it('gives up on a peer that hangs up mid-handshake', async () => {
    const { dialer, listener } = await pair();
    void readBytes(listener, HELLO_BYTES).then(() =>
      listener.end(encodeHello(0, 'answerer', randomBytes(NONCE_BYTES))),
    );
    await expect(
      handshake(dialer, 'dialer', key, { n: 0, role: 'offerer' }, TIMEOUT_MS),
    ).rejects.toMatchObject({
      code: 'PEER_LOST',
    });
  });
});
