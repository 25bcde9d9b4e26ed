/**
 * The clients of one instance, whatever they say: who is connected and who
 * waits, each client's messages taken one at a time in order, the deadline of
 * its phase, envelopes routed to a client here or on another instance, and
 * rejection (an error frame, then close) and cleanup when it leaves. What each
 * message means is handlers.ts.
 */
import type { Duplex } from 'node:stream';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { ClientMessage, ServerMessage } from '../core/signaling/protocol.js';
import { encodeMessage } from '../core/signaling/protocol.js';
import type { SignalMetrics } from './metrics.js';
import type { TokenBucket } from './rate-limit.js';
import type { SignalLimits } from './server-config.js';
import type { ClientRef, Envelope, SignalState } from './types.js';
import { WaitingRoom } from './waiting.js';

/** How long a rejected client gets to read its error frame before its socket is destroyed. */
const LINGER_MS = 1000;

export interface Client {
  readonly id: number;
  /** A TCP socket, or a WebSocket's message stream (GET /signal, http-port.ts). */
  readonly socket: Duplex;
  readonly address: string;
  /** What its address counts under for per-address limits (address-group.ts). */
  readonly group: string;
  /** Bytes written toward it that its socket has not yet handed to the kernel. */
  queued: number;
  /** Paused until its partner's queue drains (see holdBack()). */
  held?: boolean;
  /** What its relays are paid from, once it is paired. */
  relays?: TokenBucket;
  /** The nameplate it registered or joined: set once, so each client introduces itself once. */
  nameplate?: string | undefined;
  /** The name it waits under (register{name}), and the reclaim token it was reserved with. */
  named?: { name: string; resume: string } | undefined;
  /** The peer it is paired with, on this instance or another. */
  partner?: ClientRef | undefined;
  /** It joined a receiver: its report (once) counts the session, so each counts once. */
  joined?: boolean;
  reported?: boolean;
  /**
   * It has sent nothing yet, so its protocol is unknown (port.ts sniffs the
   * first byte): a refusal closes it without a word. An NDJSON error would be
   * garbage to anything else, and Chromium, which opens sockets ahead of need,
   * reads what the server wrote into an idle one as the answer to its next
   * request (ERR_INVALID_HTTP_RESPONSE on the page's next load).
   */
  unheard?: boolean;
  /** The swarms it announced (swarm.ts), each with its member id there. */
  swarms?: Map<string, string> | undefined;
  /** What its swarm relays are paid from, once it announced. */
  swarmRelays?: TokenBucket;
  /** The deadline of the current phase: handshake, nameplate TTL, or idle. */
  timer?: NodeJS.Timeout | undefined;
  /** Its messages, handled one after another. */
  queue: Promise<void>;
}

type Outgoing = ServerMessage extends infer T ? (T extends unknown ? Omit<T, 'v'> : never) : never;

export interface TableOptions {
  limits: Readonly<SignalLimits>;
  metrics: SignalMetrics;
  log: (message: string) => void;
}

export abstract class ClientTable {
  /**
   * Receivers waiting on this instance. Not keyed by nameplate: once a joiner
   * has claimed one, it is free for a new receiver before the old one hears
   * of its pairing (through pub/sub), so two clients may hold it for a moment.
   */
  readonly waiting = new WaitingRoom<Client>();
  /** Clients in good standing, by number; a rejected client leaves at once. */
  readonly clients = new Map<number, Client>();
  /** Set by stop(): waiters then keep their shared nameplates, for reclaim elsewhere. */
  private closing = false;
  /** Bytes queued toward all clients (the sum of their `queued`). */
  private queuedBytes = 0;
  protected state: SignalState;
  protected readonly limits: Readonly<SignalLimits>;

  constructor(
    state: SignalState,
    protected readonly options: TableOptions,
  ) {
    this.limits = options.limits;
    this.state = state;
    this.use(state);
  }

  /** Handle one message of `client`; a throw rejects the client with the error's code. */
  protected abstract handle(client: Client, msg: ClientMessage): Promise<void>;

  /** An envelope for one of this instance's clients, from this instance or another. */
  protected abstract deliver(envelope: Envelope): void;

  /** Share state through `state` from now on (the server swaps in Redis before it listens). */
  use(state: SignalState): void {
    this.state = state;
    state.onEnvelope((envelope) => this.deliver(envelope));
  }

  /** A client in good standing: it has the handshake time limit to register or join. */
  open(client: Client): void {
    this.clients.set(client.id, client);
    this.arm(
      client,
      this.limits.handshakeTimeoutMs,
      'BAD_MESSAGE',
      'no register or join within the time limit',
    );
  }

  /** Handle the client's next message after its previous one; whatever follows an error is ignored. */
  enqueue(client: Client, message: () => ClientMessage): void {
    client.queue = client.queue.then(async () => {
      if (!this.clients.has(client.id)) return;
      try {
        await this.handle(client, message());
      } catch (err) {
        if (this.clients.has(client.id)) this.reject(client, toPeerlaneError(err, 'BAD_MESSAGE'));
      }
    });
  }

  protected ref(client: Client): ClientRef {
    return { instance: this.state.instance, client: client.id };
  }

  /** To a client of this instance at once, or of another through the shared state. */
  protected route(to: ClientRef, envelope: Envelope): void {
    if (to.instance === this.state.instance) this.deliver(envelope);
    else this.state.publish(to.instance, envelope).catch((err) => this.options.log(`publish failed: ${err}`));
  }

  /** The client is no longer reachable by its name (it paired or left). */
  protected unname(client: Client): void {
    const named = client.named;
    client.named = undefined;
    if (named !== undefined) {
      this.state.directory
        .remove(named.name, named.resume)
        .catch((err) => this.options.log(`unname failed: ${err}`));
    }
  }

  /** Replace the client's deadline: when it passes, the client is rejected with `code`. */
  protected arm(client: Client, ms: number, code: PeerlaneError['code'], message: string): void {
    clearTimeout(client.timer);
    client.timer = setTimeout(() => this.reject(client, new PeerlaneError(code, message)), ms);
    client.timer.unref();
  }

  protected send(client: Client, msg: Outgoing): void {
    this.write(client, encodeMessage(msg));
  }

  /**
   * Queue `frame` toward the client, within its queue's cap and the server's.
   * A client past either does not read what it is sent: it is dropped (its
   * partner learns of it), so that it cannot make the server hold its messages.
   */
  protected write(client: Client, frame: string): void {
    const { socket } = client;
    if (socket.destroyed || socket.writableEnded) return;
    const bytes = Buffer.byteLength(frame);
    if (client.queued + bytes > this.limits.clientQueueBytes) {
      this.dropUnread(client, new PeerlaneError('RATE_LIMITED', 'messages for this client piled up unread'));
      return;
    }
    if (client.queued > 0 && this.queuedBytes + bytes > this.limits.maxQueuedBytes) {
      const err = new PeerlaneError(
        'SERVER_BUSY',
        'the server has no room for messages this client does not read',
      );
      this.dropUnread(client, err);
      return;
    }
    client.queued += bytes;
    this.queuedBytes += bytes;
    // Called once the kernel has the bytes, or with an error once the socket is destroyed.
    socket.write(frame, () => {
      if (client.queued === 0) return; // already given back by dropUnread()
      client.queued -= bytes;
      this.queuedBytes -= bytes;
    });
  }

  /**
   * Reject a client that does not read, and free its queue at once: its error
   * frame would wait behind everything it did not read, so it goes unsent.
   */
  private dropUnread(client: Client, err: PeerlaneError): void {
    this.reject(client, err);
    client.socket.destroy();
    // Its writes' callbacks come later; the room is free now.
    this.queuedBytes -= client.queued;
    client.queued = 0;
  }

  /**
   * Backpressure: while `client`'s partner, on this instance, has half of its
   * queue's cap waiting, stop reading from `client`. Its bytes then wait in
   * the kernel and in its own process, not in ours. (A partner on another
   * instance cannot be paused from here; the cap in write() holds there.)
   */
  protected holdBack(client: Client): void {
    const to = client.partner;
    if (client.held || to === undefined || to.instance !== this.state.instance) return;
    const partner = this.clients.get(to.client);
    if (partner === undefined || partner.queued < this.limits.clientQueueBytes / 2) return;
    client.held = true;
    client.socket.pause();
    const release = (): void => {
      partner.socket.off('drain', release);
      partner.socket.off('close', release);
      client.held = false;
      if (this.clients.has(client.id)) client.socket.resume();
    };
    partner.socket.on('drain', release);
    partner.socket.on('close', release);
  }

  /** Bytes queued toward every client, not yet handed to the kernel. */
  get queued(): number {
    return this.queuedBytes;
  }

  /** Tell the offender why, then close it; the rest of the server carries on. */
  reject(client: Client, err: PeerlaneError): void {
    this.options.log(`client ${client.id} (${client.address}) rejected: ${err.code}: ${err.message}`);
    this.options.metrics.rejected.inc({ code: err.code });
    this.drop(client);
    const { socket } = client;
    // Discard whatever it sends from now on, so that its close is seen promptly.
    socket.removeAllListeners('data');
    socket.resume();
    if (socket.destroyed || socket.writableEnded) return;
    if (client.unheard === true) {
      socket.destroy();
      return;
    }
    socket.end(encodeMessage({ type: 'error', code: err.code, message: err.message }));
    // Do not wait forever for a peer that never reads its error.
    const linger = setTimeout(() => socket.destroy(), LINGER_MS);
    linger.unref();
    socket.once('close', () => clearTimeout(linger));
  }

  /** Forget the client: its deadline, its nameplate, its pairing (telling the partner). */
  drop(client: Client): void {
    clearTimeout(client.timer);
    client.timer = undefined;
    if (!this.clients.delete(client.id)) return;
    const { nameplate, partner } = client;
    if (nameplate !== undefined && this.waiting.delete(client)) {
      if (!this.closing || !this.state.shared) {
        this.state
          .release(nameplate, this.ref(client))
          .catch((err) => this.options.log(`release failed: ${err}`));
        this.unname(client);
      }
    }
    if (partner !== undefined) {
      client.partner = undefined;
      this.route(partner, { to: partner.client, kind: 'left' });
    }
  }

  /** The server is closing: no deadline fires any more, and shared waiters keep their nameplates. */
  stop(): void {
    this.closing = true;
    for (const client of this.clients.values()) clearTimeout(client.timer);
  }
}
