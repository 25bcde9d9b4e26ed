/**
 * The peer's side of the signaling protocol: connect, register or join, then
 * exchange opaque payloads with the paired peer until the data channel is up.
 *
 * A receiver registered with instances that share state (the server sent a
 * `resume` token) survives losing its connection while it waits: it
 * reconnects, with bounded backoff, to the same address (behind DNS or a load
 * balancer, any instance) and reclaims its nameplate, so the code it showed
 * stays good. `waitForPeer()` does not notice.
 *
 * The connection itself is injected (SignalTransport): a TCP socket in Node
 * (signaling/socket.ts), a WebSocket in a browser.
 */
import { fromBase64 } from '../bytes.js';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { ClientMessage, PeerRole, ServerMessage, SessionPath, TurnGrant } from './protocol.js';
import { encodeMessage } from './protocol.js';
import type { SignalDialer, SignalTransport } from './transport.js';
import { readServerMessages, redial } from './transport.js';

export type { SignalDialer, SignalTransport } from './transport.js';

/** Reconnect delays while reclaiming a nameplate: 100 ms doubling to 2 s, about 10 s in all. */
const RECLAIM_DELAYS_MS = [100, 200, 400, 800, 1600, 2000, 2000, 2000];

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
  private relay: string | undefined;
  private sid: Uint8Array | undefined;
  /** While registered and not yet paired, with a server that hands out reclaim tokens. */
  private resume: { nameplate: string; token: string } | undefined;
  /** A reclaim is on its way: its `registered` answer is ours, not the caller's. */
  private reclaiming = false;

  private constructor(
    private transport: SignalTransport,
    private readonly dial: SignalDialer,
  ) {
    this.attach(transport);
  }

  private attach(transport: SignalTransport): void {
    readServerMessages(
      transport,
      (msg) => this.dispatch(msg),
      (err) => this.fail(err),
    );
    transport.onClose((cause) => {
      if (this.closedByUs || this.failure !== undefined || transport !== this.transport) return;
      if (this.resume !== undefined) {
        void this.reclaim(this.resume);
        return;
      }
      const why = cause?.message ?? 'the signal server closed the connection';
      this.fail(new PeerlaneError('SIGNAL_CLOSED', why, { cause }));
    });
  }

  /** Reconnect and reclaim our nameplate, or fail with why not. */
  private async reclaim(resume: { nameplate: string; token: string }): Promise<void> {
    let transport: SignalTransport | undefined;
    try {
      transport = await redial(
        this.dial,
        RECLAIM_DELAYS_MS,
        () => this.closedByUs || this.failure !== undefined,
      );
    } catch (err) {
      const why = toPeerlaneError(err).message;
      this.fail(new PeerlaneError('SIGNAL_CLOSED', `lost the signal server while waiting: ${why}`));
      return;
    }
    if (transport === undefined) return;
    this.transport = transport;
    this.attach(transport);
    this.reclaiming = true;
    transport.write(encodeMessage({ type: 'reclaim', nameplate: resume.nameplate, token: resume.token }));
  }

  /** Connect through `dial` (signaling/socket.ts dials TCP). Rejects with SIGNAL_UNREACHABLE. */
  static async connect(dial: SignalDialer): Promise<SignalClient> {
    return new SignalClient(await dial(), dial);
  }

  /**
   * Ask for a nameplate to wait under; resolves with it. With `name`, also be
   * reachable by that name, and with `listed`, shown by `list`.
   */
  async register(options: { name?: string | undefined; listed?: boolean } = {}): Promise<string> {
    const { name, listed } = options;
    this.send(
      name === undefined ? { type: 'register' } : { type: 'register', name, listed: listed === true },
    );
    const msg = await this.next();
    if (msg.type !== 'registered') throw unexpected(msg);
    if (name !== undefined && msg.name !== name) {
      // A server that predates names ignores the field: our name would lead nowhere.
      throw new PeerlaneError('VERSION_MISMATCH', 'the signal server does not support --name; upgrade it');
    }
    if (msg.resume !== undefined) this.resume = { nameplate: msg.nameplate, token: msg.resume };
    return msg.nameplate;
  }

  /** Join the receiver waiting under `nameplate`; resolves once paired. */
  async join(nameplate: string): Promise<PeerRole> {
    this.send({ type: 'join', nameplate });
    return this.waitForPeer();
  }

  /** Join the receiver waiting as `name`; resolves once paired, with the nameplate the name stood for. */
  async joinName(name: string): Promise<{ role: PeerRole; nameplate: string }> {
    this.send({ type: 'join', name });
    const msg = await this.paired();
    if (msg.nameplate === undefined) {
      throw new PeerlaneError('BAD_MESSAGE', 'the signal server paired us by name without the nameplate');
    }
    return { role: msg.role, nameplate: msg.nameplate };
  }

  /** The names of the receivers that asked to be listed. */
  async list(): Promise<string[]> {
    this.send({ type: 'list' });
    const msg = await this.next();
    if (msg.type !== 'peers') throw unexpected(msg);
    return msg.peers.map((p) => p.name);
  }

  /** Wait (as long as it takes) for a peer to join our code. */
  async waitForPeer(): Promise<PeerRole> {
    return (await this.paired()).role;
  }

  private async paired(): Promise<Extract<ServerMessage, { type: 'paired' }>> {
    const msg = await this.next();
    if (msg.type !== 'paired') throw unexpected(msg);
    if (msg.sid === undefined) {
      // A server from before secure protocol 2 pairs without one; the peers' PAKE needs it.
      throw new PeerlaneError('VERSION_MISMATCH', 'the signal server sends no session id; upgrade it');
    }
    this.resume = undefined;
    this.grant = msg.turn;
    this.relay = msg.relay;
    this.sid = fromBase64(msg.sid);
    return msg;
  }

  /** The session id the server handed out with `paired`: the peers' CPace sid (secure/handshake.ts). */
  get sessionId(): Uint8Array {
    if (this.sid === undefined) throw new PeerlaneError('BAD_MESSAGE', 'not paired yet');
    return this.sid;
  }

  /** The TURN credentials the server issued with `paired`, if it issues any. */
  get turnGrant(): TurnGrant | undefined {
    return this.grant;
  }

  /** The instance whose relay the pairing uses, `host:port`, when instances share Redis; else undefined. */
  get relayAddress(): string | undefined {
    return this.relay;
  }

  sendPayload(payload: string): void {
    this.send({ type: 'relay', payload });
  }

  /** Tell the server how the session's data channel went, for its metrics. Best effort. */
  report(path: SessionPath): void {
    if (this.failure === undefined && !this.closedByUs)
      this.transport.write(encodeMessage({ type: 'report', path }));
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
    this.transport.close();
  }

  private send(msg: Outgoing): void {
    if (this.failure !== undefined) throw this.failure;
    this.transport.write(encodeMessage(msg));
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
        this.fail(new PeerlaneError('PEER_LOST', 'the other peer left the signal server'));
        return;
      case 'relay':
        if (this.relayHandler !== undefined) this.relayHandler(msg.payload);
        else this.pendingRelays.push(msg.payload);
        return;
      case 'registered':
        if (this.reclaiming) {
          this.reclaiming = false;
          return;
        }
        this.deliver(msg);
        return;
      default:
        this.deliver(msg);
    }
  }

  private deliver(msg: ServerMessage): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter !== undefined) waiter.resolve(msg);
    else this.queue.push(msg);
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
