/**
 * The signal server is untrusted: through a proxy that records or rewrites
 * every line, check what it can read and what tampering achieves, over real
 * peers and real data channels.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/core/events.js';
import { parseCode } from '../../src/core/secure/code.js';
import type { CpaceParty } from '../../src/core/secure/cpace.js';
import { startCpace, tagsEqual } from '../../src/core/secure/cpace.js';
import { channelId } from '../../src/core/secure/handshake.js';
import type { ReceiveSessionOptions } from '../../src/session/receive.js';
import { send } from '../../src/session/send.js';
import { listTree } from '../../src/testing/files.js';
import { Harness, LOOPBACK } from '../../src/testing/harness.js';
import { startReceiver } from '../../src/testing/in-process.js';
import type { LineRewriter, RelayProxy } from '../../src/testing/relay-proxy.js';
import { startRelayProxy } from '../../src/testing/relay-proxy.js';

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 8_000 };
let h: Harness;
let proxy: RelayProxy | undefined;

beforeEach(() => {
  h = new Harness();
});
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await h.cleanup();
});

async function setup(rewrite?: LineRewriter) {
  const server = await h.signalServer();
  proxy = await startRelayProxy(server, rewrite);
  const signal = { host: proxy.host, port: proxy.port };
  const src = await h.tempDir();
  const out = await h.tempDir();
  const file = path.join(src, 'secret-plans.txt');
  await fs.writeFile(file, 'the contents the server must not see');
  return { server, signal, file, out };
}

/**
 * A server in the middle of the PAKE: it replaces the share relayed to each
 * peer with its own, made under `guess` for that peer's nameplate and session
 * id, and records every key-confirmation tag a peer sends, with whether the
 * tag confirms the guess (what the server learns from it).
 */
interface SwappedPeer {
  role?: string | undefined;
  sid?: string | undefined;
  nameplate?: string | undefined;
  /** The peer's own share and AD, as it sent them. */
  share?: Uint8Array;
  ad?: string;
  /** The server's side of CPace towards this peer. */
  me?: CpaceParty;
}

class ShareSwapper {
  swapped = 0;
  readonly tags: { role: string; guessRight: boolean }[] = [];
  private readonly peers = new Map<number, SwappedPeer>();

  constructor(public guess: string | undefined) {}

  readonly rewrite = (line: string, direction: 'to-server' | 'to-client', conn: number): string => {
    const peer = this.peers.get(conn) ?? {};
    this.peers.set(conn, peer);
    const msg = JSON.parse(line) as Record<string, string>;
    if (msg.type === 'registered' || (msg.type === 'join' && direction === 'to-server')) {
      peer.nameplate = msg.nameplate;
    }
    if (msg.type === 'paired' && direction === 'to-client') {
      peer.role = msg.role;
      peer.sid = msg.sid;
    }
    if (msg.type !== 'relay' || msg.payload === undefined) return line;
    const inner = JSON.parse(msg.payload) as Record<string, string | number>;
    if (direction === 'to-server' && inner.kind === 'pake') {
      peer.share = Buffer.from(String(inner.share), 'base64');
      peer.ad = String(inner.ad);
    }
    if (direction === 'to-server' && inner.kind === 'confirm') {
      // The peer's tag, keyed against the server's share: check the guess with it.
      const keys = peer.me?.finish(peer.share ?? new Uint8Array(), peer.ad ?? '');
      const expected = peer.role === 'answerer' ? keys?.tagB : keys?.tagA;
      const tag = Buffer.from(String(inner.tag), 'base64');
      this.tags.push({
        role: peer.role ?? '?',
        guessRight: expected !== undefined && tagsEqual(tag, expected),
      });
    }
    if (direction === 'to-client' && inner.kind === 'pake' && this.guess !== undefined) {
      peer.me = startCpace({
        prs: this.guess,
        ci: channelId(peer.nameplate ?? ''),
        sid: Buffer.from(peer.sid ?? '', 'base64url'),
        ad: String(inner.ad),
        initiator: peer.role === 'answerer',
      });
      this.swapped++;
      const share = Buffer.from(peer.me.share).toString('base64');
      return JSON.stringify({ ...msg, payload: JSON.stringify({ ...inner, share }) });
    }
    return line;
  };
}

function receiver(options: Omit<ReceiveSessionOptions, 'rtc'>) {
  return startReceiver({ rtc, ...options });
}

describe('PAKE-authenticated sessions through an untrusted server', () => {
  it('the server sees the nameplate and ciphertext only', async () => {
    const { signal, file, out } = await setup();
    const rx = receiver({ signal, outDir: out });
    const code = await rx.code;
    expect(code).toMatch(/^[1-9][0-9]*-[a-z]+-[a-z]+$/);
    await send({ signal, rtc, paths: [file], code });
    await rx.result;
    expect(await fs.readFile(path.join(out, 'secret-plans.txt'), 'utf8')).toBe(
      'the contents the server must not see',
    );

    const seen = proxy?.lines.join('\n') ?? '';
    const { nameplate, secret } = parseCode(code);
    expect(seen).toContain(`"nameplate":"${nameplate}"`);
    expect(seen).not.toContain(secret);
    // A short word can occur inside base64 by chance; look outside the blobs.
    const clear = seen.replace(/(box|share|tag)\\":\\"[A-Za-z0-9+/=]+/g, '');
    // Protocol keys and values ("kind", "type", …) are words too; a code word
    // must not appear as a value of its own.
    const values = clear.replace(/\\?"[a-z-]+\\?":/g, '');
    for (const word of secret.split('-')) {
      expect(values).not.toMatch(new RegExp(`\\\\?"${word}\\\\?"`));
    }
    for (const leak of ['a=fingerprint', 'candidate:', 'v=0', 'secret-plans', 'typ host']) {
      expect(seen).not.toContain(leak);
    }
    expect(seen).toContain('sealed');
  });

  it('each side tells the other with its share that it is a CLI (what sets its loopback MTU)', async () => {
    const { signal, file, out } = await setup();
    const rx = receiver({ signal, outDir: out });
    await send({ signal, rtc, paths: [file], code: await rx.code });
    await rx.result;
    const agents = (proxy?.lines ?? [])
      .map((line) => JSON.parse(line) as { type?: string; payload?: string })
      .filter((msg) => msg.type === 'relay' && msg.payload?.includes('"kind":"pake"'))
      .map((msg) => (JSON.parse(msg.payload ?? '{}') as { agent?: string }).agent);
    // Each share crosses the proxy twice: to the server and on to the peer.
    expect(agents).toEqual(['cli', 'cli', 'cli', 'cli']);
  });

  it('a wrong code fails on both sides with BAD_CODE within seconds, and burns the nameplate', async () => {
    const { signal, file, out } = await setup();
    const rx = receiver({ signal, outDir: out });
    const code = await rx.code;
    const { nameplate } = parseCode(code);
    const wrong = `${nameplate}-abandon-ability`;
    const started = Date.now();
    await expect(send({ signal, rtc, paths: [file], code: wrong })).rejects.toMatchObject({
      code: 'BAD_CODE',
    });
    await expect(rx.result).rejects.toMatchObject({ code: 'BAD_CODE' });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await listTree(out)).toEqual([]);
    // One guess per nameplate: the right code no longer finds anyone.
    await expect(send({ signal, rtc, paths: [file], code })).rejects.toMatchObject({
      code: 'PEER_NOT_FOUND',
    });
  });

  it('a server that flips a bit in a sealed message stops the handshake', async () => {
    let flipped = false;
    const { signal, file, out } = await setup((line, direction) => {
      if (flipped || direction !== 'to-client' || !line.includes('sealed')) return line;
      flipped = true;
      const msg = JSON.parse(line) as { payload: string };
      const inner = JSON.parse(msg.payload) as { box: string };
      const box = Buffer.from(inner.box, 'base64');
      box[0] = (box[0] ?? 0) ^ 1;
      return JSON.stringify({ ...msg, payload: JSON.stringify({ ...inner, box: box.toString('base64') }) });
    });
    const rx = receiver({ signal, outDir: out });
    const tx = send({ signal, rtc, paths: [file], code: await rx.code });
    const results = await Promise.allSettled([rx.result, tx]);
    expect(flipped).toBe(true);
    const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'ok'));
    expect(codes).toContain('BAD_MESSAGE');
    expect(codes).not.toContain('ok');
    expect(await listTree(out)).toEqual([]);
  });

  it('a server that substitutes its own key shares fails the exchange, and gets one tag per pairing', async () => {
    // Key confirmation fails and nobody gets anything. Both shares swapped, so the server runs CPace with each side under a
    // guess. Each side's tag would let it check that guess offline and then
    // fake a network failure. Only the side that drew the code (its words die
    // with this pairing) confirms unasked; the joiner, who may try the same
    // code again, stops at the forged tag with BAD_CODE and sends no tag.
    const mitm = new ShareSwapper('abandon-ability');
    const { signal, file, out } = await setup(mitm.rewrite);
    const rx = receiver({ signal, outDir: out });
    const tx = send({ signal, rtc, paths: [file], code: await rx.code });
    await expect(tx).rejects.toMatchObject({ code: 'BAD_CODE' });
    await expect(rx.result).rejects.toMatchObject({ code: 'BAD_CODE' });
    expect(mitm.swapped).toBe(2);
    expect(mitm.tags.map((t) => t.role)).toEqual(['answerer']);
    // The one tag answers the one guess against the receiver: wrong, here.
    expect(mitm.tags[0]?.guessRight).toBe(false);
  });

  it('the tag the server gets answers exactly its guess: right words, right answer', async () => {
    // The same server, told the receiver's words, checks them with its one tag.
    const mitm = new ShareSwapper(undefined);
    const { signal, file, out } = await setup(mitm.rewrite);
    const rx = receiver({ signal, outDir: out });
    const code = await rx.code;
    mitm.guess = parseCode(code).secret;
    await expect(send({ signal, rtc, paths: [file], code })).rejects.toBeDefined();
    await rx.result.catch(() => {});
    expect(mitm.tags.map((t) => [t.role, t.guessRight])).toEqual([['answerer', true]]);
  });

  it('a server that swaps the roles is refused before any tag is sent', async () => {
    const { signal, file, out } = await setup((line, direction) => {
      if (direction !== 'to-client' || !line.includes('"paired"')) return line;
      const msg = JSON.parse(line) as { role: string };
      return JSON.stringify({ ...msg, role: msg.role === 'offerer' ? 'answerer' : 'offerer' });
    });
    const rx = receiver({ signal, outDir: out });
    const tx = send({ signal, rtc, paths: [file], code: await rx.code });
    await expect(tx).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
    await expect(rx.result).rejects.toMatchObject({ code: 'BAD_MESSAGE' });
    expect(proxy?.lines.some((l) => l.includes('confirm'))).toBe(false);
  });

  it('each pairing gets a fresh session id, the same on both sides', async () => {
    const { signal, file, out } = await setup();
    for (let i = 0; i < 2; i++) {
      const rx = receiver({ signal, outDir: out, overwrite: true });
      await send({ signal, rtc, paths: [file], code: await rx.code });
      await rx.result;
    }
    const sids = (proxy?.lines ?? [])
      .filter((l) => l.includes('"paired"'))
      .map((l) => (JSON.parse(l) as { sid?: string }).sid);
    expect(sids).toHaveLength(4);
    for (const sid of sids) expect(sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(sids[0]).toBe(sids[1]);
    expect(sids[2]).toBe(sids[3]);
    expect(sids[0]).not.toBe(sids[2]);
  });

  it('a server that gives the two sides different session ids only breaks the PAKE', async () => {
    let n = 0;
    const { signal, file, out } = await setup((line, direction) => {
      if (direction !== 'to-client' || !line.includes('"paired"') || n++ > 0) return line;
      return JSON.stringify({ ...(JSON.parse(line) as object), sid: 'AAAAAAAAAAAAAAAAAAAAAA' });
    });
    const rx = receiver({ signal, outDir: out });
    const tx = send({ signal, rtc, paths: [file], code: await rx.code });
    await expect(tx).rejects.toMatchObject({ code: 'BAD_CODE' });
    await expect(rx.result).rejects.toMatchObject({ code: 'BAD_CODE' });
  });

  it('a peer of another secure protocol version, or a server without session ids: VERSION_MISMATCH', async () => {
    const older = await setup((line, direction) => {
      if (direction !== 'to-client' || !line.includes('"kind\\":\\"pake\\"')) return line;
      const msg = JSON.parse(line) as { payload: string };
      const inner = JSON.parse(msg.payload) as object;
      return JSON.stringify({ ...msg, payload: JSON.stringify({ ...inner, v: 1 }) });
    });
    const rx = receiver({ signal: older.signal, outDir: older.out });
    const tx = send({ signal: older.signal, rtc, paths: [older.file], code: await rx.code });
    await expect(tx).rejects.toMatchObject({
      code: 'VERSION_MISMATCH',
      message: expect.stringContaining('secure protocol 1'),
    });
    await expect(rx.result).rejects.toMatchObject({ code: 'VERSION_MISMATCH' });
    await proxy?.close();

    const noSid = await setup((line, direction) => {
      if (direction !== 'to-client' || !line.includes('"paired"')) return line;
      const { sid: _, ...rest } = JSON.parse(line) as { sid?: string };
      return JSON.stringify(rest);
    });
    const rx2 = receiver({ signal: noSid.signal, outDir: noSid.out });
    const tx2 = send({ signal: noSid.signal, rtc, paths: [noSid.file], code: await rx2.code });
    await expect(tx2).rejects.toMatchObject({ code: 'VERSION_MISMATCH' });
    await expect(rx2.result).rejects.toMatchObject({ code: 'VERSION_MISMATCH' });
  });

  it('a receiver with a name draws four words unless told otherwise', async () => {
    const { signal, file, out } = await setup();
    const rx = receiver({ signal, outDir: out, name: 'laptop' });
    const code = await rx.code;
    expect(code).toMatch(/^laptop(-[a-z]+){4}$/);
    await send({ signal, rtc, paths: [file], code });
    await rx.result;
    const two = receiver({ signal, outDir: out, name: 'desk', codeWords: 2, overwrite: true });
    const short = await two.code;
    expect(short).toMatch(/^desk(-[a-z]+){2}$/);
    await send({ signal, rtc, paths: [file], code: short });
    await two.result;
  });

  it('--verify shows the same words on both sides', async () => {
    const { signal, file, out } = await setup();
    const rx = receiver({ signal, outDir: out, verify: true });
    const txEvents: PeerEvent[] = [];
    await send({
      signal,
      rtc,
      paths: [file],
      code: await rx.code,
      verify: true,
      onEvent: (e) => txEvents.push(e),
    });
    await rx.result;
    const rxWords = rx.events.find((e) => e.event === 'connected');
    const txWords = txEvents.find((e) => e.event === 'connected');
    expect(rxWords && 'verify' in rxWords ? rxWords.verify : undefined).toMatch(
      /^[a-z]+ [a-z]+ [a-z]+ [a-z]+$/,
    );
    expect(txWords && 'verify' in txWords ? txWords.verify : 'none').toBe(
      rxWords && 'verify' in rxWords ? rxWords.verify : 'other',
    );
  });
});
