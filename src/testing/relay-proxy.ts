/**
 * A signal server operator gone bad, for tests: a TCP proxy in front of a
 * real signal server that sees every line both ways and may rewrite it.
 * It shows what an untrusted server can read, and what tampering achieves.
 */
import net from 'node:net';
import { LineDecoder } from '../core/signaling/framing.js';
import { MAX_SIGNAL_MESSAGE_BYTES } from '../core/signaling/protocol.js';
import { LOOPBACK } from './harness.js';

/**
 * Return the line to forward (without newline), possibly changed. `conn`
 * numbers the client connections from 0 in the order they were accepted, so a
 * rewriter can keep state per peer.
 */
export type LineRewriter = (line: string, direction: 'to-server' | 'to-client', conn: number) => string;

export interface RelayProxy {
  host: string;
  port: number;
  /** Every line seen, both directions, in order. */
  lines: string[];
  close(): Promise<void>;
}

export async function startRelayProxy(
  upstream: { host: string; port: number },
  rewrite: LineRewriter = (line) => line,
): Promise<RelayProxy> {
  const lines: string[] = [];
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const pipe = (
    from: net.Socket,
    to: net.Socket,
    direction: 'to-server' | 'to-client',
    conn: number,
  ): void => {
    const decoder = new LineDecoder(MAX_SIGNAL_MESSAGE_BYTES);
    from.on('data', (chunk: Buffer) => {
      for (const line of decoder.push(chunk)) {
        lines.push(line);
        if (!to.destroyed) to.write(`${rewrite(line, direction, conn)}\n`);
      }
    });
    from.on('close', () => to.end());
    from.on('error', () => to.destroy());
  };
  const server = net.createServer((client) => {
    const up = net.connect(upstream);
    sockets.add(client).add(up);
    const conn = accepted++;
    pipe(client, up, 'to-server', conn);
    pipe(up, client, 'to-client', conn);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: LOOPBACK,
    port,
    lines,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
