import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeRelayHello } from '../../src/core/relay/protocol.js';
import { classifyFirstByte, sniffProtocol } from '../../src/server/demux.js';

describe('classifyFirstByte', () => {
  it('tells signaling, the relay, HTTP and TLS apart, and nothing else passes for one of them', () => {
    expect(classifyFirstByte('{'.charCodeAt(0))).toBe('signal');
    expect(classifyFirstByte(encodeRelayHello(new Uint8Array(32))[0] as number)).toBe('relay');
    for (const method of ['GET', 'POST', 'HEAD', 'OPTIONS'])
      expect(classifyFirstByte(method.charCodeAt(0))).toBe('http');
    expect(classifyFirstByte(0x16)).toBe('tls'); // a ClientHello
    expect(classifyFirstByte('g'.charCodeAt(0))).toBe('unknown');
  });
});

describe('sniffProtocol', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    for (const c of closers.splice(0)) c();
  });

  it('reads the first byte and puts it back, so the reader sees the whole stream', async () => {
    const got = new Promise<{ protocol: string | undefined; text: string }>((resolve) => {
      const server = net.createServer(async (socket) => {
        const protocol = await sniffProtocol(socket);
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (c: string) => {
          text += c;
          if (text.endsWith('\n')) resolve({ protocol, text });
        });
        socket.resume();
      });
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        const client = net.connect(port, '127.0.0.1', () => client.write('{"type":"list"}\n'));
        closers.push(() => {
          client.destroy();
          server.close();
        });
      });
    });
    expect(await got).toEqual({ protocol: 'signal', text: '{"type":"list"}\n' });
  });
});
