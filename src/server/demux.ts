/**
 * One TCP port, several protocols, told apart by the first byte a client
 * sends (clients always speak first on this port):
 * - `{` (or whitespace before it): an NDJSON signaling line;
 * - 0x00: a relay hello (core/relay/protocol.ts);
 * - an ASCII capital letter: an HTTP request line (GET, POST, …), for the page
 *   and WebSocket upgrades;
 * - 0x16: a TLS handshake record (a ClientHello), when TLS_CERT is set
 *   (tls.ts); the decrypted stream is told apart again by its own first byte.
 * Anything else is nothing we speak. The byte is read and put back, so each
 * protocol's reader sees the connection from its start.
 */
import type net from 'node:net';
import { RELAY_MAGIC } from '../core/relay/protocol.js';

export type PortProtocol = 'signal' | 'relay' | 'http' | 'tls' | 'unknown';

const OPEN_BRACE = 0x7b;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
/** The content type of a TLS handshake record, which a ClientHello is sent in. */
const TLS_HANDSHAKE = 0x16;

export function classifyFirstByte(byte: number): PortProtocol {
  if (byte === OPEN_BRACE || WHITESPACE.has(byte)) return 'signal';
  if (byte === RELAY_MAGIC[0]) return 'relay';
  if (byte >= 0x41 && byte <= 0x5a) return 'http';
  if (byte === TLS_HANDSHAKE) return 'tls';
  return 'unknown';
}

/**
 * The protocol of `socket` by its first byte, put back for its reader; undefined
 * if the client closes first. The caller's idle timeout still bounds the wait.
 */
export function sniffProtocol(socket: net.Socket): Promise<PortProtocol | undefined> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      done();
      socket.pause();
      socket.unshift(chunk);
      resolve(chunk.length > 0 ? classifyFirstByte(chunk[0] as number) : 'unknown');
    };
    const onClose = (): void => {
      done();
      resolve(undefined);
    };
    const done = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}
