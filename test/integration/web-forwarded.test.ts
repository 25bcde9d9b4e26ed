/**
 * Behind a reverse proxy (SIGNAL_TRUST_PROXY): the page's WebSockets, on
 * /signal and on the relay's /relay, are counted by the address the proxy
 * names in X-Forwarded-For, not as one client, and the header means nothing
 * from anyone else. The test's
 * connections come from 127.0.0.1, which stands for the proxy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SignalBench, v } from '../../src/testing/signal-clients.js';

const bench = new SignalBench();
afterEach(() => bench.cleanup());

const from = (address: string) => ({ headers: { 'x-forwarded-for': address } });

describe('WebSockets through a trusted proxy', () => {
  it('the per-address cap counts each forwarded client, not the proxy', async () => {
    const s = await bench.start({ maxConnectionsPerIp: 2 }, { trustProxy: ['127.0.0.1'] });
    await bench.webSocket(s, from('203.0.113.7'));
    await bench.webSocket(s, from('203.0.113.7'));
    // That client is at its cap, behind the same proxy as the rest.
    await expect(bench.webSocket(s, from('203.0.113.7'))).rejects.toThrow(/429/);
    // Others behind the proxy are not: five connections from 127.0.0.1 in all.
    const other = await bench.webSocket(s, from('198.51.100.4'));
    await bench.webSocket(s, from('198.51.100.5'));
    other.sendJson({ v, type: 'register' });
    expect(await other.next()).toMatchObject({ type: 'registered' });
    // The forwarded one leaving frees its place.
    other.end();
    await other.closed;
    const again = await bench.webSocket(s, from('198.51.100.4'));
    again.sendJson({ v, type: 'register' });
    expect(await again.next()).toMatchObject({ type: 'registered' });
  });

  it('the relay WebSocket (/relay) is held to the same per-address cap, shared with /signal', async () => {
    const s = await bench.start(
      { maxConnectionsPerIp: 2 },
      { trustProxy: ['127.0.0.1'], relay: { enabled: true } },
    );
    const relay = (address: string) => bench.relayWebSocket(s, from(address));
    await relay('203.0.113.7');
    await bench.webSocket(s, from('203.0.113.7'));
    // That client is at its cap, counted across both paths; its next relay upgrade is refused.
    await expect(relay('203.0.113.7')).rejects.toThrow(/429/);
    // Another client behind the same proxy still reaches the relay.
    const other = await relay('198.51.100.4');
    await relay('198.51.100.4');
    await expect(relay('198.51.100.4')).rejects.toThrow(/429/);
    // Its relay WebSocket leaving frees its place.
    other.close();
    await new Promise((resolve) => other.once('close', resolve));
    const reaches = (address: string) => relay(address).then(Boolean, () => false);
    await expect.poll(() => reaches('198.51.100.4')).toBe(true);
  });

  it('the header means nothing from an address not trusted', async () => {
    const s = await bench.start({ maxConnectionsPerIp: 2 }, { trustProxy: ['192.0.2.1'] });
    await bench.webSocket(s, from('203.0.113.7'));
    await bench.webSocket(s, from('198.51.100.4'));
    // Whatever the header says, all three are 127.0.0.1's.
    await expect(bench.webSocket(s, from('198.51.100.5'))).rejects.toThrow();
  });
});
