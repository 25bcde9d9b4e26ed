/**
 * TLS on the signal server's own port (TLS_CERT, TLS_KEY): browsers give the
 * page's file APIs to a secure context only, so on a VPS without a proxy the
 * server terminates TLS itself. A connection that opens with a ClientHello
 * (demux.ts) is handed here; once its handshake is done, the decrypted stream
 * is told apart by its first byte again, so HTTPS, `wss://…/signal`,
 * `wss://…/relay` and NDJSON over TLS all share the port. Certificates are
 * read once at start; a renewed one needs a restart.
 */
import fs from 'node:fs';
import type net from 'node:net';
import tls from 'node:tls';
import { PeerlaneError } from '../core/errors.js';

/** A certificate chain and its private key, PEM. */
export interface TlsPem {
  cert: string | Buffer;
  key: string | Buffer;
}

/** The PEM files TLS_CERT and TLS_KEY name, read now: both or neither, else BAD_CONFIG. */
export function readTlsFiles(certPath: string | undefined, keyPath: string | undefined): TlsPem | undefined {
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      'TLS_CERT (--tls-cert) and TLS_KEY (--tls-key) go together: give both or neither',
    );
  }
  return { cert: readPem(certPath, 'TLS_CERT'), key: readPem(keyPath, 'TLS_KEY') };
}

function readPem(file: string, variable: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new PeerlaneError('BAD_CONFIG', `${variable}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Terminates TLS on connections handed over by the demux; `secure` gets each once its handshake is done. */
export class PortTls {
  private readonly server: tls.Server;

  constructor(
    pem: TlsPem,
    handshakeTimeoutMs: number,
    secure: (socket: tls.TLSSocket) => void,
    log: (message: string) => void,
  ) {
    try {
      this.server = tls.createServer({ ...pem, handshakeTimeout: handshakeTimeoutMs });
    } catch (err) {
      throw new PeerlaneError('BAD_CONFIG', `TLS_CERT and TLS_KEY: ${(err as Error).message}`);
    }
    this.server.on('secureConnection', secure);
    this.server.on('tlsClientError', (err, socket) => {
      log(`TLS handshake from ${socket.remoteAddress}: ${err.message}`);
      socket.destroy();
    });
  }

  /** Terminate TLS on `socket` (its first bytes put back, paused by the demux). */
  accept(socket: net.Socket): void {
    this.server.emit('connection', socket);
  }
}
