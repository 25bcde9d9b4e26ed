/**
 * TLS on the signal server's own port (TLS_CERT, TLS_KEY): a ClientHello is
 * told apart by its first byte, TLS is taken off, and what it carried is told
 * apart again, so HTTPS for the page, `wss://…/signal`, `wss://…/relay` and
 * NDJSON over TLS share the port with the plain protocols. Without a
 * certificate a ClientHello is refused as before; a bad certificate stops the
 * server at start with a usage error.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RELAY_WS_PATH } from '../../src/core/relay/protocol.js';
import { readTlsFiles } from '../../src/server/tls.js';
import { SECURITY_HEADERS } from '../../src/server/web/headers.js';
import { Harness, LOOPBACK } from '../../src/testing/harness.js';
import type { TextAnswer } from '../../src/testing/http-text.js';
import { requestText } from '../../src/testing/http-text.js';
import type { Address } from '../../src/testing/signal-clients.js';
import { expectServes, SignalBench, v } from '../../src/testing/signal-clients.js';
import type { TestCert } from '../../src/testing/tls-cert.js';
import { opensslSkipReason, selfSignedCert } from '../../src/testing/tls-cert.js';

const bench = new SignalBench();
const h = new Harness();
afterEach(async () => {
  await bench.cleanup();
  await h.cleanup();
});

const PAGE = '<!doctype html><title>peerlane</title>\n';
const skip = opensslSkipReason();
const keep = new Harness();
let cert: TestCert;
let webRoot: string;

beforeAll(async () => {
  if (skip !== undefined) return;
  const dir = await keep.tempDir('peerlane-tls-');
  cert = await selfSignedCert(dir);
  webRoot = path.join(dir, 'web');
  await fs.mkdir(webRoot);
  await fs.writeFile(path.join(webRoot, 'index.html'), PAGE);
  return () => keep.cleanup();
});

function httpsGet(port: number, target: string): Promise<TextAnswer> {
  return requestText({ host: LOOPBACK, port, path: target, ca: cert.cert });
}

/** NDJSON over TLS: the first line the server answers `line` with. */
function tlsLine(to: Address, line: string, ca = cert.cert): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: to.host, port: to.port, ca }, () => socket.write(line));
    let got = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      got += chunk;
      if (got.includes('\n')) {
        socket.destroy();
        resolve(got.slice(0, got.indexOf('\n')));
      }
    });
    socket.on('error', reject);
  });
}

async function tlsServer(): Promise<Address> {
  return bench.start({}, { webRoot, tls: readTlsFiles(cert.certPath, cert.keyPath) });
}

describe.skipIf(skip !== undefined)('with a certificate', () => {
  it('serves the page over HTTPS, with its security headers', async () => {
    const s = await tlsServer();
    const page = await httpsGet(s.port, '/');
    expect(page).toMatchObject({ status: 200, body: PAGE, headers: SECURITY_HEADERS });
    expect((await httpsGet(s.port, '/../package.json')).status).toBe(404);
  });

  it('pairs a wss:// signaling client with a plain TCP one, and relays both ways', async () => {
    const s = await tlsServer();
    const wss = await bench.webSocket(s, { tlsCa: cert.cert });
    wss.sendJson({ v, type: 'register' });
    const { nameplate } = await wss.next();
    const tcp = await bench.connect(s);
    tcp.sendJson({ v, type: 'join', nameplate });
    expect(await tcp.next()).toMatchObject({ type: 'paired' });
    expect(await wss.next()).toMatchObject({ type: 'paired' });
    tcp.sendJson({ v, type: 'relay', payload: 'over TLS' });
    expect(await wss.next()).toEqual({ v, type: 'relay', payload: 'over TLS' });
    wss.sendJson({ v, type: 'relay', payload: 'back' });
    expect(await tcp.next()).toEqual({ v, type: 'relay', payload: 'back' });
  });

  it('speaks NDJSON over TLS, and upgrades wss://…/relay', async () => {
    const s = await bench.start(
      {},
      { tls: readTlsFiles(cert.certPath, cert.keyPath), relay: { enabled: true } },
    );
    expect(JSON.parse(await tlsLine(s, `${JSON.stringify({ v, type: 'register' })}\n`))).toMatchObject({
      type: 'registered',
    });
    const ws = new WebSocket(`wss://${LOOPBACK}:${s.port}${RELAY_WS_PATH}`, { ca: cert.cert });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.terminate();
  });

  it('drops a client that fails the handshake, or wraps TLS in TLS, and serves the others', async () => {
    const s = await tlsServer();
    // A client that does not trust the certificate gives up during the handshake.
    await expect(tlsLine(s, '{}\n', '')).rejects.toThrow();
    // TLS inside TLS is not a protocol of ours: refused as a bad signaling line.
    const inner = await tlsLine(s, '\u0016\u0003\u0001 not a second handshake\n');
    expect(JSON.parse(inner)).toMatchObject({ type: 'error', code: 'BAD_MESSAGE' });
    await expectServes(bench, s);
    expect((await httpsGet(s.port, '/')).status).toBe(200);
  });

  it('`serve:signal --tls-cert --tls-key` serves HTTPS and plain signaling on one port', async () => {
    const server = await h.signalProcess(['--tls-cert', cert.certPath, '--tls-key', cert.keyPath]);
    await expect.poll(() => server.process.stderr).toContain('TLS on the same port');
    // The page of this checkout's dist/web/, or the line saying it is not built: either way over HTTPS.
    const page = await httpsGet(server.port, '/');
    expect([200, 404]).toContain(page.status);
    expect(page.headers).toMatchObject(SECURITY_HEADERS);
    await expectServes(bench, server);
  });
});

describe('without a certificate', () => {
  it('a ClientHello is refused as before, and the server goes on', async () => {
    const s = await bench.start();
    await expect(tlsLine(s, '{}\n', '')).rejects.toThrow();
    await expectServes(bench, s);
  });
});

describe('bad TLS settings stop the server at start with a usage error', () => {
  it.skipIf(skip !== undefined).each([
    [
      ['--tls-cert', '/nonexistent/cert.pem', '--tls-key', '/nonexistent/key.pem'],
      /TLS_CERT: cannot read \/nonexistent\/cert\.pem/,
    ],
    [['--tls-cert', '__CERT__'], /TLS_CERT \(--tls-cert\) and TLS_KEY \(--tls-key\) go together/],
    [['--tls-key', '__KEY__'], /go together/],
    [['--tls-cert', '__KEY__', '--tls-key', '__CERT__'], /TLS_CERT and TLS_KEY: /],
  ])('%j', async (args, message) => {
    const given = args.map((a) => (a === '__CERT__' ? cert.certPath : a === '__KEY__' ? cert.keyPath : a));
    const proc = h.spawnScript('signal', ['--host', LOOPBACK, '--port', '0', ...given]);
    const exit = await proc.exit();
    expect(exit.code, proc.stderr).toBe(2);
    expect(proc.stderr).toMatch(message);
    expect(proc.stderr).toContain('BAD_CONFIG');
    expect(proc.stderr.trim().split('\n')).toHaveLength(1);
  });
});
