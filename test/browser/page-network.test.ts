/**
 * What the page learns of the network from its server: the server's STUN
 * (GET /config.json), so that a phone on a real network gathers
 * server-reflexive candidates. On loopback the test server's own STUN stands
 * in for a public one: the page's RTCPeerConnection must be configured with
 * it, and must actually ask it.
 */
import http from 'node:http';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  chromiumAvailable,
  finished,
  openPeerPage,
  readyCode,
  useChromium,
} from '../../src/testing/browser.js';
import { writeRandomFile } from '../../src/testing/files.js';
import { useSignalServer } from '../../src/testing/hooks.js';

/**
 * Before the page's own scripts: every RTCPeerConnection's configuration is
 * kept in globalThis.pcConfigs for the test to read (init scripts pass the CSP).
 */
const RECORD_CONFIGS = `(() => {
  const Original = RTCPeerConnection;
  globalThis.pcConfigs = [];
  globalThis.RTCPeerConnection = class extends Original {
    constructor(config) { super(config); globalThis.pcConfigs.push(this.getConfiguration()); }
  };
})()`;

describe.runIf(chromiumAvailable())('the page and its server’s STUN', () => {
  const { h, server } = useSignalServer({ beforeEach, afterEach });
  const chromium = useChromium({ beforeAll, afterAll, afterEach });

  /** GET /config.json with `host` as the Host header (fetch does not let a caller set it). */
  function configUnder(host: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = http.get(
        { host: server.host, port: server.port, path: '/config.json', headers: { host } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve(JSON.parse(body)));
        },
      );
      req.on('error', reject);
    });
  }

  it('serves its STUN at /config.json under the host the browser asked for', async () => {
    const res = await fetch(`http://${server.host}:${server.port}/config.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await res.json()).toEqual({ stun: [`stun:${server.host}:${server.port}`] });
    // A Host that is no plain hostname gets no URL made of it.
    expect(await configUnder('evil.example/x"')).toEqual({ stun: [] });
    // One behind a proxy: the host it was asked under, the port STUN answers on.
    expect(await configUnder('peer.example.org')).toEqual({ stun: [`stun:peer.example.org:${server.port}`] });
  });

  it('configures its RTCPeerConnection with the server’s STUN, and asks it', async () => {
    const src = path.join(await h.tempDir(), 'a.bin');
    await writeRandomFile(src, 1024 * 1024);
    await chromium.browser.context.addInitScript(RECORD_CONFIGS);
    const page = await openPeerPage(chromium.browser, `http://${server.host}:${server.port}/`);
    await page.locator('#receive').click();
    const code = await readyCode(page);
    const before = server.server.stunAnswered;
    const tx = h.peer(['send', src, '--to', code, ...server.peerArgs]);
    await page.locator('#accept').click({ timeout: 20_000 });
    expect(await finished(page), chromium.browser.errors.join('\n')).toBe('done');
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    const configs = (await page.evaluate('globalThis.pcConfigs')) as {
      iceServers: { urls: string[] | string }[];
    }[];
    expect(configs.length).toBeGreaterThan(0);
    const urls = configs[0]?.iceServers.flatMap((s) => s.urls);
    expect(urls).toEqual([`stun:${server.host}:${server.port}`]);
    // The CLI here is told to use no ICE servers (peerArgs): every Binding request answered was the page's.
    expect(server.server.stunAnswered).toBeGreaterThan(before);
  });
});
