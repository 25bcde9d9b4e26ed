/**
 * The peer's side of the signaling protocol: connect, register or join, then
 * exchange opaque payloads with the paired peer until the data channel is up.
 */
import net from 'node:net';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import { LineDecoder } from './framing.js';
import type { ClientMessage, PeerRole, ServerMessage, TurnGrant } from './protocol.js';
import { encodeMessage, MAX_SIGNAL_MESSAGE_BYTES, parseServerMessage } from './protocol.js';

export interface SignalAddress {
  host: string;
  port: number;
}

/** TCP connect to a live server on any sane network takes well under this. */
const CONNECT_TIMEOUT_MS = 5_000;

type Outgoing = ClientMessage extends infer T ? (T extends unknown ? Omit<T, 'v'> : never) : never;

export class SignalClient {
  private readonly queue: ServerMessage[] = [];
  private waiter: { resolve: (m: ServerMessage) => void; reject: (e: PeerlaneError) => void } | undefined;
  private failure: PeerlaneError | undefined;
  private closedByUs = false;
  private pendingRelays: string[] = [];
  private relayHandler: ((payload: string) => void) | undefined;
  private failureHandler: ((err: PeerlaneError) => void) | undefined;
  private grant: TurnGrant | undefined;

  private constructor(
    private readonly socket: net.Socket,
    readonly address: SignalAddress,
  ) {
    const decoder = new LineDecoder(MAX_SIGNAL_MESSAGE_BYTES);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const line of decoder.push(chunk)) this.dispatch(parseServerMessage(line));
      } catch (err) {
        this.fail(toPeerlaneError(err, 'BAD_MESSAGE'));
        socket.destroy();
      }
    });
    socket.on('error', (err) => this.fail(new PeerlaneError('SIGNAL_CLOSED', err.message, { cause: err })));
    socket.on('close', () => {
      if (!this.closedByUs)
        this.fail(new PeerlaneError('SIGNAL_CLOSED', 'the signal server closed the connection'));
    });
  }

  static connect(address: SignalAddress): Promise<SignalClient> {
    return new Promise((resolve, reject) => {
      const where = `${address.host}:${address.port}`;
      const socket = net.connect({ host: address.host, port: address.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new PeerlaneError('SIGNAL_UNREACHABLE', `no answer from the signal server at ${where}`));
      }, CONNECT_TIMEOUT_MS);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(
          new PeerlaneError(
            'SIGNAL_UNREACHABLE',
            `cannot reach the signal server at ${where}: ${err.message}`,
          ),
        );
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new SignalClient(socket, address));
      });
    });
  }

  /** Ask for a nameplate to wait under; resolves with it. */
  async register(): Promise<string> {
    this.send({ type: 'register' });
    const msg = await this.next();
    if (msg.type !== 'registered') throw unexpected(msg);
    return msg.nameplate;
  }

  /** Join the receiver waiting under `nameplate`; resolves once paired. */
  async join(nameplate: string): Promise<PeerRole> {
    this.send({ type: 'join', nameplate });
    return this.waitForPeer();
  }

  /** Wait (as long as it takes) for a peer to join our code. */
  async waitForPeer(): Promise<PeerRole> {
    const msg = await this.next();
    if (msg.type !== 'paired') throw unexpected(msg);
    this.grant = msg.turn;
    return msg.role;
  }

  /** The TURN credentials the server issued with `paired`, if it issues any. */
  get turnGrant(): TurnGrant | undefined {
    return this.grant;
  }

  sendPayload(payload: string): void {
    this.send({ type: 'relay', payload });
  }

  /** Route payloads from the peer (including any that arrived earlier) to `handler`. */
  onPayload(handler: (payload: string) => void): void {
    this.relayHandler = handler;
    const early = this.pendingRelays;
    this.pendingRelays = [];
    for (const payload of early) handler(payload);
  }

  /** Called once if the server reports an error, the peer leaves, or the connection drops. */
  onFailure(handler: (err: PeerlaneError) => void): void {
    this.failureHandler = handler;
    if (this.failure !== undefined) handler(this.failure);
  }

  close(): void {
    this.closedByUs = true;
    this.socket.end();
    this.socket.destroy();
  }

  private send(msg: Outgoing): void {
    if (this.failure !== undefined) throw this.failure;
    this.socket.write(encodeMessage(msg));
  }

  private next(): Promise<ServerMessage> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private dispatch(msg: ServerMessage): void {
    switch (msg.type) {
      case 'error':
        this.fail(new PeerlaneError(msg.code, msg.message));
        return;
      case 'peer-left':
        this.fail(new PeerlaneError('PEER_LOST', 'the other peer left before the connection was made'));
        return;
      case 'relay':
        if (this.relayHandler !== undefined) this.relayHandler(msg.payload);
        else this.pendingRelays.push(msg.payload);
        return;
      default: {
        const waiter = this.waiter;
        this.waiter = undefined;
        if (waiter !== undefined) waiter.resolve(msg);
        else this.queue.push(msg);
      }
    }
  }

  private fail(err: PeerlaneError): void {
    if (this.failure !== undefined || this.closedByUs) return;
    this.failure = err;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(err);
    this.failureHandler?.(err);
  }
}

function unexpected(msg: ServerMessage): PeerlaneError {
  return new PeerlaneError('BAD_MESSAGE', `unexpected "${msg.type}" from the signal server`);
}
