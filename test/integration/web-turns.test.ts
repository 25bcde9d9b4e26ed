/**
 * TURN over TLS for the browser page: TURN_URLS may list `turns:` (and
 * `?transport=tcp`) URLs, which a browser on a network that blocks UDP relays
 * over. The server issues them with its credentials in `paired` like any
 * other; a CLI peer, whose ICE agent relays over UDP only, leaves them out
 * and transfers as before.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { Harness, LOOPBACK } from '../../src/testing/harness.js';
import { SignalBench, v } from '../../src/testing/signal-clients.js';

const h = new Harness();
const bench = new SignalBench();
afterEach(async () => {
  await bench.cleanup();
  await h.cleanup();
});

/** Nothing answers on these: the peers here must get by without TURN, as on any LAN. */
const TURN = {
  urls: [`turn:${LOOPBACK}:9`, 'turns:turn.example.org:5349', `turn:${LOOPBACK}:9?transport=tcp`],
  secret: 'web-turns-secret',
  ttlSeconds: 600,
};

describe('turns: URLs in TURN_URLS', () => {
  it('reach the page in `paired`, with credentials', async () => {
    const s = await bench.start({}, { turn: TURN });
    const page = await bench.webSocket(s);
    page.sendJson({ v, type: 'register' });
    const { nameplate } = await page.next();
    const cli = await bench.connect(s);
    cli.sendJson({ v, type: 'join', nameplate });
    const paired = await page.next();
    expect(paired).toMatchObject({
      type: 'paired',
      turn: { urls: TURN.urls, username: expect.any(String), password: expect.any(String) },
    });
  });

  it('are left out by CLI peers, which transfer as before', async () => {
    const server = await h.signalServer({ turn: TURN });
    // No --ice-servers: the server's STUN and the TURN it issues, the default.
    const args = ['--signal', `${server.host}:${server.port}`, '--bind-address', LOOPBACK];
    const env = { ICE_SERVERS: '' };
    const out = await h.tempDir('peerlane-out-');
    const rx = h.peer(['receive', '--yes', '--out', out, ...args], { env });
    const { code } = await rx.waitFor('ready');
    const src = path.join(await h.tempDir('peerlane-src-'), 'a.bin');
    await writeRandomFile(src, 100_000);
    const tx = h.peer(['send', src, '--to', code, ...args], { env });
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'a.bin'))).toBe(await sha256File(src));
  });
});
