/**
 * The signal server is untrusted: through a proxy that records or rewrites
 * every line, check what it can read and what tampering achieves, over real
 * peers and real data channels.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/events.js';
import { parseCode } from '../../src/secure/code.js';
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

  it('a server that substitutes its own key share cannot complete the exchange', async () => {
    // The server replaces the sender's share with a fresh one of its own: it can
    // only guess the password, so key confirmation fails on the receiver.
    const { startCpace } = await import('../../src/secure/cpace.js');
    const { signal, file, out } = await setup((line, direction) => {
      if (direction !== 'to-client' || !line.includes('"kind\\":\\"pake\\"')) return line;
      const msg = JSON.parse(line) as { payload: string };
      const inner = JSON.parse(msg.payload) as { share: string };
      const mine = startCpace('guess-words', 'peerlane/1/nameplate=1').share.toString('base64');
      return JSON.stringify({ ...msg, payload: JSON.stringify({ ...inner, share: mine }) });
    });
    const rx = receiver({ signal, outDir: out });
    const tx = send({ signal, rtc, paths: [file], code: await rx.code });
    await expect(rx.result).rejects.toMatchObject({ code: 'BAD_CODE' });
    await expect(tx).rejects.toMatchObject({ code: 'BAD_CODE' });
    expect(await listTree(out)).toEqual([]);
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
