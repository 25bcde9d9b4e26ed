/**
 * The signal server against raw TCP clients speaking newline-delimited JSON:
 * every offender gets an error frame with a stable code and is closed, and the
 * same server keeps serving everyone else.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_SIGNAL_MESSAGE_BYTES } from '../../src/core/signaling/protocol.js';
import type { RawClient } from '../../src/testing/raw-client.js';
import type { Started } from '../../src/testing/signal-clients.js';
import {
  binaryGarbage,
  expectRejected,
  expectServes,
  NAMEPLATE,
  SignalBench,
  v,
} from '../../src/testing/signal-clients.js';
import { withTimeout } from '../helpers.js';

/**
 * Well formed, but never handed out here: while fewer than 50 receivers wait,
 * nameplates are drawn from 1 to 99.
 */
const UNKNOWN_NAMEPLATE = '999999';

const bench = new SignalBench();
let server: Started;

beforeEach(async () => {
  // Per-address limits are tested in signal-hardening.test.ts; raised here, so
  // that 50 clients from loopback are each judged by what they send alone.
  server = await bench.start({ maxConnectionsPerIp: 100 });
});
afterEach(() => bench.cleanup());

const connect = (): Promise<RawClient> => bench.connect(server);

describe('signal server against raw clients', () => {
  it('BAD_MESSAGE for a line of garbage text, then keeps serving', async () => {
    const c = await connect();
    c.socket.write('hello, is this the signal server?\n');
    await expectRejected(c, 'BAD_MESSAGE');
    await expectServes(bench, server);
  });

  it('BAD_MESSAGE for random binary bytes ending in a newline, then keeps serving', async () => {
    const c = await connect();
    c.socket.write(Buffer.concat([binaryGarbage(4096), Buffer.from('\n')]));
    await expectRejected(c, 'BAD_MESSAGE');
    await expectServes(bench, server);
  });

  it('MESSAGE_TOO_LARGE for an endless line, then keeps serving', async () => {
    const c = await connect();
    c.socket.write(Buffer.alloc(MAX_SIGNAL_MESSAGE_BYTES + 1, 'a'));
    await expectRejected(c, 'MESSAGE_TOO_LARGE');
    await expectServes(bench, server);
  });

  it('VERSION_MISMATCH for another protocol version, then keeps serving', async () => {
    const c = await connect();
    c.socket.write('{"v":999,"type":"register"}\n');
    await expectRejected(c, 'VERSION_MISMATCH');
    await expectServes(bench, server);
  });

  it('BAD_MESSAGE for a relay before pairing, fresh or registered', async () => {
    const fresh = await connect();
    fresh.sendJson({ v, type: 'relay', payload: 'too early' });
    await expectRejected(fresh, 'BAD_MESSAGE');

    const registered = await connect();
    registered.sendJson({ v, type: 'register' });
    expect(await registered.next()).toMatchObject({ type: 'registered' });
    registered.sendJson({ v, type: 'relay', payload: 'still too early' });
    await expectRejected(registered, 'BAD_MESSAGE');
    await expectServes(bench, server);
  });

  it('BAD_MESSAGE for registering twice, and the first nameplate is forgotten', async () => {
    const c = await connect();
    c.sendJson({ v, type: 'register' });
    const first = await c.next();
    expect(first).toMatchObject({ type: 'registered' });
    c.sendJson({ v, type: 'register' });
    await expectRejected(c, 'BAD_MESSAGE');
    expect(c.lines).toHaveLength(2);

    const joiner = await connect();
    joiner.sendJson({ v, type: 'join', nameplate: first.nameplate });
    await expectRejected(joiner, 'PEER_NOT_FOUND');
    await expectServes(bench, server);
  });

  it('PEER_NOT_FOUND for a well-formed nameplate nobody waits under', async () => {
    const c = await connect();
    c.sendJson({ v, type: 'join', nameplate: UNKNOWN_NAMEPLATE });
    await expectRejected(c, 'PEER_NOT_FOUND');
    await expectServes(bench, server);
  });

  it.each(['0', '007', '-1', '4 2', '../..'])(
    'BAD_CODE for the malformed nameplate %j',
    async (nameplate) => {
      const c = await connect();
      c.sendJson({ v, type: 'join', nameplate });
      await expectRejected(c, 'BAD_CODE');
      await expectServes(bench, server);
    },
  );

  it('BAD_MESSAGE for a join in the v1 form, or with a whole code as nameplate', async () => {
    const v1 = await connect();
    v1.sendJson({ v, type: 'join', code: '42' });
    await expectRejected(v1, 'BAD_MESSAGE');
    const whole = await connect();
    whole.sendJson({ v, type: 'join', nameplate: '42-word-word' });
    await expectRejected(whole, 'BAD_MESSAGE');
    await expectServes(bench, server);
  });

  it('pairs two clients, relays both ways, and reports peer-left', async () => {
    const a = await connect();
    a.sendJson({ v, type: 'register' });
    const registered = await a.next();
    expect(registered).toEqual({ v, type: 'registered', nameplate: expect.stringMatching(NAMEPLATE) });
    expect(server.server.stats).toEqual({ clients: 1, waiting: 1 });

    const b = await connect();
    b.sendJson({ v, type: 'join', nameplate: registered.nameplate });
    const paired = await a.next();
    expect(paired).toEqual({
      v,
      type: 'paired',
      role: 'answerer',
      sid: expect.stringMatching(/^[\w-]{22}$/),
    });
    // Both halves of the pairing get the same session id (the peers' CPace sid).
    expect(await b.next()).toEqual({ v, type: 'paired', role: 'offerer', sid: paired.sid });
    expect(server.server.stats).toEqual({ clients: 2, waiting: 0 });

    const offer = JSON.stringify({ kind: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n' });
    b.sendJson({ v, type: 'relay', payload: offer });
    expect(await a.next()).toEqual({ v, type: 'relay', payload: offer });

    // The server never interprets a payload: any string goes through as is.
    const answer = 'not even json \u00e9\u2603 "quoted" \\ back';
    a.sendJson({ v, type: 'relay', payload: answer });
    expect(await b.next()).toEqual({ v, type: 'relay', payload: answer });

    b.end();
    await withTimeout(b.closed, 'closing B');
    expect(await a.next()).toEqual({ v, type: 'peer-left' });
    // Nothing went to the wrong side.
    expect(a.lines.map((l) => l.type)).toEqual(['registered', 'paired', 'relay', 'peer-left']);
    expect(b.lines.map((l) => l.type)).toEqual(['paired', 'relay']);
    // A is no longer paired: a further relay is an offence.
    a.sendJson({ v, type: 'relay', payload: 'anyone?' });
    await expectRejected(a, 'BAD_MESSAGE');
    await expect.poll(() => server.server.stats).toEqual({ clients: 0, waiting: 0 });
  });

  it('a nameplate is single-use: a third client joining it gets PEER_NOT_FOUND', async () => {
    const a = await connect();
    a.sendJson({ v, type: 'register' });
    const { nameplate } = await a.next();
    const b = await connect();
    b.sendJson({ v, type: 'join', nameplate });
    expect(await b.next()).toMatchObject({ type: 'paired', role: 'offerer' });

    const c = await connect();
    c.sendJson({ v, type: 'join', nameplate });
    await expectRejected(c, 'PEER_NOT_FOUND');
    // The pair is untouched by the intruder.
    b.sendJson({ v, type: 'relay', payload: 'still here' });
    expect(await a.next()).toMatchObject({ type: 'paired' });
    expect(await a.next()).toEqual({ v, type: 'relay', payload: 'still here' });
    await expectServes(bench, server);
  });

  it('survives 50 garbage connections at once, then serves and forgets them all', async () => {
    const offenders = await Promise.all(Array.from({ length: 50 }, () => connect()));
    offenders.forEach((c, i) => {
      c.socket.write(
        i % 2 === 0 ? `garbage ${i}\n` : Buffer.concat([binaryGarbage(100 + i), Buffer.from('\n')]),
      );
    });
    await Promise.all(offenders.map((c) => expectRejected(c, 'BAD_MESSAGE')));
    await expectServes(bench, server);
    await expect.poll(() => server.server.stats).toEqual({ clients: 0, waiting: 0 });
  });
});
