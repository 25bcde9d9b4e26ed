/**
 * The signal server: registers receivers under fresh codes, pairs a joiner with
 * the receiver of its code, and relays opaque payloads within each pair.
 *
 * A misbehaving client is that client's problem: it gets an error frame and is
 * closed, and everyone else keeps being served.
 */
import net from 'node:net';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import { generateCode } from './codes.js';
import { LineDecoder } from './framing.js';
import type { ClientMessage, ServerMessage } from './protocol.js';
import { encodeMessage, MAX_SIGNAL_MESSAGE_BYTES, parseClientMessage } from './protocol.js';

export interface SignalServerOptions {
  host: string;
  /** 0 picks a free port; read it back from `address()`. */
  port: number;
  /** Receives one line per notable event; defaults to silence. */
  log?: (message: string) => void;
}

/**
 * A client that sends nothing valid for this long is dropped. Waiting
 * receivers are exempt: they may wait as long as their human needs.
 */
const HANDSHAKE_TIMEOUT_MS = 10_000;

interface Client {
  readonly id: number;
  readonly socket: net.Socket;
  code?: string | undefined;
  partner?: Client | undefined;
}

type Outgoing = ServerMessage extends infer T ? (T extends unknown ? Omit<T, 'v'> : never) : never;

export class SignalServer {
  private readonly server: net.Server;
  private readonly waiting = new Map<string, Client>();
  private readonly clients = new Set<Client>();
  private nextId = 1;
  private readonly log: (message: string) => void;

  constructor(private readonly options: SignalServerOptions) {
    this.log = options.log ?? (() => {});
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Start listening; resolves with the bound address. */
  async listen(): Promise<{ host: string; port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err) =>
        reject(
          new PeerlaneError(
            'LISTEN_FAILED',
            `cannot listen on ${this.options.host}:${this.options.port}: ${err.message}`,
          ),
        ),
      );
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.removeAllListeners('error');
        this.server.on('error', (err) => this.log(`server error: ${err.message}`));
        resolve();
      });
    });
    return this.address();
  }

  address(): { host: string; port: number } {
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string')
      throw new PeerlaneError('INTERNAL', 'server is not listening');
    return { host: addr.address, port: addr.port };
  }

  get stats(): { clients: number; waiting: number } {
    return { clients: this.clients.size, waiting: this.waiting.size };
  }

  async close(): Promise<void> {
    for (const client of this.clients) client.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const client: Client = { id: this.nextId++, socket };
    this.clients.add(client);
    socket.setNoDelay(true);
    const decoder = new LineDecoder(MAX_SIGNAL_MESSAGE_BYTES);
    const handshakeTimer = setTimeout(() => {
      if (client.code === undefined && client.partner === undefined) {
        this.reject(client, new PeerlaneError('BAD_MESSAGE', 'no register or join within the time limit'));
      }
    }, HANDSHAKE_TIMEOUT_MS);
    handshakeTimer.unref();

    socket.on('data', (chunk: Buffer) => {
      try {
        for (const line of decoder.push(chunk)) {
          if (socket.destroyed) return;
          this.handle(client, parseClientMessage(line));
        }
      } catch (err) {
        this.reject(client, toPeerlaneError(err, 'BAD_MESSAGE'));
      }
    });
    socket.on('error', () => {
      // A reset or a write after the peer left; 'close' follows and cleans up.
    });
    socket.on('close', () => {
      clearTimeout(handshakeTimer);
      this.drop(client);
    });
  }

  private handle(client: Client, msg: ClientMessage): void {
    switch (msg.type) {
      case 'register': {
        if (client.code !== undefined || client.partner !== undefined) {
          throw new PeerlaneError('BAD_MESSAGE', 'already registered');
        }
        let code = generateCode();
        while (this.waiting.has(code)) code = generateCode();
        client.code = code;
        this.waiting.set(code, client);
        this.send(client, { type: 'registered', code });
        this.log(`client ${client.id} registered`);
        return;
      }
      case 'join': {
        if (client.code !== undefined || client.partner !== undefined) {
          throw new PeerlaneError('BAD_MESSAGE', 'already registered');
        }
        const host = this.waiting.get(msg.code);
        if (host === undefined) {
          throw new PeerlaneError('PEER_NOT_FOUND', 'no receiver is waiting with that code');
        }
        this.waiting.delete(msg.code);
        host.partner = client;
        client.partner = host;
        this.send(host, { type: 'paired', role: 'answerer' });
        this.send(client, { type: 'paired', role: 'offerer' });
        this.log(`clients ${host.id} and ${client.id} paired`);
        return;
      }
      case 'relay': {
        if (client.partner === undefined) throw new PeerlaneError('BAD_MESSAGE', 'relay before pairing');
        this.send(client.partner, { type: 'relay', payload: msg.payload });
        return;
      }
    }
  }

  private send(client: Client, msg: Outgoing): void {
    if (!client.socket.destroyed) client.socket.write(encodeMessage(msg));
  }

  /** Tell the offender why, then close it; the rest of the server carries on. */
  private reject(client: Client, err: PeerlaneError): void {
    this.log(`client ${client.id} rejected: ${err.code}: ${err.message}`);
    if (!client.socket.destroyed) {
      client.socket.end(encodeMessage({ type: 'error', code: err.code, message: err.message }));
      // Do not wait forever for a peer that never reads its error.
      setTimeout(() => client.socket.destroy(), 1000).unref();
    }
    this.drop(client);
  }

  private drop(client: Client): void {
    if (!this.clients.delete(client)) return;
    if (client.code !== undefined && this.waiting.get(client.code) === client)
      this.waiting.delete(client.code);
    const partner = client.partner;
    if (partner !== undefined) {
      partner.partner = undefined;
      client.partner = undefined;
      this.send(partner, { type: 'peer-left' });
    }
  }
}
