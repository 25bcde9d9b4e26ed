/**
 * What the signal server does with each client once its socket is accepted
 * (server.ts): one handler per message kind, the envelopes other instances
 * send about its clients, and the deadline of each phase:
 *
 *   connected --register--> waiting --joined--> paired
 *   handshake timeout       nameplate TTL       idle timeout (reset by each message)
 *
 * A client's messages are handled in order, one at a time; whatever a client
 * sends after an error is ignored. Nothing here listens or accepts: the server
 * hands over each client and each line it reads.
 */
import type net from 'node:net';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import { claimByName } from './directory.js';
import type { Envelope } from './envelope.js';
import type { SignalMetrics } from './metrics.js';
import type { ClientMessage, ServerMessage, TurnGrant } from './protocol.js';
import { encodeMessage, MAX_LISTED_PEERS } from './protocol.js';
import type { SignalLimits } from './server-config.js';
import type { BucketSpec, ClientRef, Payer, SignalState } from './state.js';
import { newResumeToken, rateLimited } from './state.js';
import type { TurnConfig } from './turn.js';
import { issueTurnCredentials } from './turn.js';

/** How long a rejected client gets to read its error frame before its socket is destroyed. */
const LINGER_MS = 1000;

export interface Client {
  readonly id: number;
  readonly socket: net.Socket;
  readonly address: string;
  /** The nameplate it registered or joined: set once, so each client introduces itself once. */
  nameplate?: string | undefined;
  /** The name it waits under (register{name}), and the reclaim token it was reserved with. */
  named?: { name: string; resume: string } | undefined;
  /** The peer it is paired with, on this instance or another. */
  partner?: ClientRef | undefined;
  /** It joined a receiver: its report (once) counts the session, so each counts once. */
  joined?: boolean;
  reported?: boolean;
  /** The deadline of the current phase: handshake, nameplate TTL, or idle. */
  timer?: NodeJS.Timeout | undefined;
  /** Its messages, handled one after another. */
  queue: Promise<void>;
}

type Outgoing = ServerMessage extends infer T ? (T extends unknown ? Omit<T, 'v'> : never) : never;

export interface HandlerOptions {
  limits: Readonly<SignalLimits>;
  metrics: SignalMetrics;
  log: (message: string) => void;
  turn: TurnConfig | undefined;
}

export class SignalHandlers {
  /**
   * Receivers waiting on this instance. Not keyed by nameplate: once a joiner
   * has claimed one, it is free for a new receiver before the old one hears
   * of its pairing (through pub/sub), so two clients may hold it for a moment.
   */
  readonly waiting = new Set<Client>();
  /** Clients in good standing, by number; a rejected client leaves at once. */
  readonly clients = new Map<number, Client>();
  /** Set by stop(): waiters then keep their shared nameplates, for reclaim elsewhere. */
  private closing = false;
  private state: SignalState;
  private readonly limits: Readonly<SignalLimits>;
  private readonly bucket: BucketSpec;

  constructor(
    state: SignalState,
    private readonly options: HandlerOptions,
  ) {
    this.limits = options.limits;
    this.bucket = { ratePerMinute: this.limits.joinRatePerMinute, burst: this.limits.joinBurst };
    this.state = state;
    this.use(state);
  }

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

  private ref(client: Client): ClientRef {
    return { instance: this.state.instance, client: client.id };
  }

  private async handle(client: Client, msg: ClientMessage): Promise<void> {
    if (client.partner !== undefined) client.timer?.refresh(); // a paired client is not idle
    switch (msg.type) {
      case 'register': {
        this.introduce(client);
        // Before paying: a receiver the server has no room for is not charged for it.
        if (this.waiting.size >= this.limits.maxNameplates) {
          throw new PeerlaneError('SERVER_BUSY', 'too many receivers are waiting');
        }
        // A reclaim token is minted only where it is used (about 1% of a lone
        // instance's time otherwise): sent to receivers that can reclaim on
        // another instance, or naming the waiter in the directory.
        const resume = this.state.shared || msg.name !== undefined ? newResumeToken() : undefined;
        client.nameplate = await this.state.allocate(
          { ...this.ref(client), resume },
          this.limits.nameplateTtlMs,
          this.payer(client),
        );
        if (msg.name !== undefined && resume !== undefined) {
          await this.reserveName(client, msg.name, msg.listed === true, resume);
        }
        if (this.gone(client)) return;
        this.wait(client, this.limits.nameplateTtlMs, resume);
        this.options.log(`client ${client.id} registered`);
        return;
      }
      case 'reclaim': {
        await this.spendToken(client);
        const left = await this.state.reclaim(msg.nameplate, msg.token, this.ref(client));
        if (left === undefined) throw new PeerlaneError('PEER_NOT_FOUND', 'that nameplate is no longer held');
        client.nameplate = msg.nameplate;
        if (this.gone(client)) return;
        this.wait(client, left, msg.token);
        this.options.log(`client ${client.id} reclaimed its nameplate`);
        return;
      }
      case 'join': {
        // One pairing per nameplate, whichever instance holds it: a joiner gets
        // exactly one PAKE guess, and a wrong one ends the receiver's session.
        const byName = 'name' in msg;
        let found: { nameplate: string; host: ClientRef | undefined } | undefined;
        if (byName) {
          await this.spendToken(client); // before the lookup: guessing names costs too
          found = await claimByName(this.state, msg.name);
        } else {
          this.introduce(client);
          const host = await this.state.claim(msg.nameplate, undefined, this.payer(client));
          found = { nameplate: msg.nameplate, host };
        }
        const host = found?.host;
        if (found === undefined || host === undefined) {
          throw new PeerlaneError(
            'PEER_NOT_FOUND',
            byName ? 'no receiver is waiting under that name' : 'no receiver is waiting with that code',
          );
        }
        client.nameplate = found.nameplate;
        client.partner = host;
        client.joined = true;
        this.options.metrics.pairings.inc();
        this.arm(client, this.limits.idleTimeoutMs, 'BAD_MESSAGE', 'idle too long');
        this.route(host, { to: host.client, kind: 'paired', from: this.ref(client) });
        this.send(client, {
          type: 'paired',
          role: 'offerer',
          ...this.turnGrant(client),
          // Joined by name, it needs the nameplate for its PAKE transcript.
          ...(byName ? { nameplate: found.nameplate } : {}),
        });
        if (this.gone(client)) this.route(host, { to: host.client, kind: 'left' });
        this.options.log(
          `client ${client.id} joined a receiver on ${host.instance === this.state.instance ? 'this' : 'another'} instance`,
        );
        return;
      }
      case 'list': {
        await this.spendToken(client);
        const names = await this.state.directory.list(MAX_LISTED_PEERS);
        this.send(client, { type: 'peers', peers: names.map((name) => ({ name })) });
        return;
      }
      case 'relay': {
        if (client.partner === undefined) throw new PeerlaneError('BAD_MESSAGE', 'relay before pairing');
        this.options.metrics.relayed.inc();
        const frame = encodeMessage({ type: 'relay', payload: msg.payload });
        this.route(client.partner, { to: client.partner.client, kind: 'relay', frame });
        return;
      }
      case 'report': {
        if (!client.joined || client.reported) return;
        client.reported = true;
        this.options.metrics.session(msg.path);
        return;
      }
    }
  }

  /** Whether the client left while we waited on the shared state; its nameplate is then let go. */
  private gone(client: Client): boolean {
    if (this.clients.has(client.id)) return false;
    if (client.nameplate !== undefined && client.partner === undefined) {
      this.state.release(client.nameplate, this.ref(client)).catch(() => {});
      this.unname(client);
    }
    return true;
  }

  /** Make the client reachable as `name`, or give its nameplate back and fail with NAME_TAKEN. */
  private async reserveName(client: Client, name: string, listed: boolean, resume: string): Promise<void> {
    const nameplate = client.nameplate ?? '';
    const entry = { nameplate, resume, listed };
    if (await this.state.directory.reserve(name, entry, this.limits.nameplateTtlMs)) {
      client.named = { name, resume };
      return;
    }
    client.nameplate = undefined;
    await this.state.release(nameplate, this.ref(client));
    throw new PeerlaneError('NAME_TAKEN', `the name "${name}" is taken on this signal server`);
  }

  /** The client is no longer reachable by its name (it paired or left). */
  private unname(client: Client): void {
    const named = client.named;
    client.named = undefined;
    if (named !== undefined) {
      this.state.directory
        .remove(named.name, named.resume)
        .catch((err) => this.options.log(`unname failed: ${err}`));
    }
  }

  /** The client now waits under its nameplate, for `ms` at most. */
  private wait(client: Client, ms: number, resume: string | undefined): void {
    const nameplate = client.nameplate ?? '';
    this.waiting.add(client);
    this.arm(client, ms, 'NAMEPLATE_EXPIRED', 'no sender came in time');
    // A token to reclaim the nameplate is only worth having where it outlives this instance.
    this.send(client, {
      type: 'registered',
      nameplate,
      ...(this.state.shared && resume !== undefined ? { resume } : {}),
      ...(client.named !== undefined ? { name: client.named.name } : {}),
    });
  }

  /** To a client of this instance at once, or of another through the shared state. */
  private route(to: ClientRef, envelope: Envelope): void {
    if (to.instance === this.state.instance) this.deliver(envelope);
    else this.state.publish(to.instance, envelope).catch((err) => this.options.log(`publish failed: ${err}`));
  }

  /** An envelope for one of this instance's clients. */
  private deliver(envelope: Envelope): void {
    const client = this.clients.get(envelope.to);
    switch (envelope.kind) {
      case 'paired': {
        const nameplate = client?.nameplate;
        if (client === undefined || nameplate === undefined || !this.waiting.delete(client)) {
          // Gone meanwhile: the joiner learns it as it would from a local receiver.
          this.route(envelope.from, { to: envelope.from.client, kind: 'left' });
          return;
        }
        client.partner = envelope.from;
        this.unname(client);
        this.arm(client, this.limits.idleTimeoutMs, 'BAD_MESSAGE', 'idle too long');
        this.send(client, { type: 'paired', role: 'answerer', ...this.turnGrant(client) });
        return;
      }
      case 'relay':
        if (client?.partner !== undefined) this.write(client, envelope.frame);
        return;
      case 'left':
        if (client?.partner === undefined) return;
        client.partner = undefined;
        this.send(client, { type: 'peer-left' });
        return;
    }
  }

  /** Fresh TURN credentials for one peer of a new pairing, if TURN is configured. */
  private turnGrant(client: Client): { turn?: TurnGrant } {
    const turn = this.options.turn;
    if (turn === undefined) return {};
    const creds = issueTurnCredentials(turn.secret, turn.ttlSeconds, { id: `peerlane-${client.id}` });
    return { turn: { urls: [...turn.urls], ...creds } };
  }

  /** A register or join: once per client. */
  private introduce(client: Client): void {
    if (client.nameplate !== undefined) {
      throw new PeerlaneError('BAD_MESSAGE', 'already registered');
    }
  }

  /** Registers and joins are paid for from the client's address's bucket. */
  private payer(client: Client): Payer {
    return { address: client.address, bucket: this.bucket };
  }

  /** Introduce the client and pay, for what takes no shared step of its own to pay in. */
  private async spendToken(client: Client): Promise<void> {
    this.introduce(client);
    const { address, bucket } = this.payer(client);
    if (!(await this.state.take(address, bucket))) throw rateLimited();
  }

  /** Replace the client's deadline: when it passes, the client is rejected with `code`. */
  private arm(client: Client, ms: number, code: PeerlaneError['code'], message: string): void {
    clearTimeout(client.timer);
    client.timer = setTimeout(() => this.reject(client, new PeerlaneError(code, message)), ms);
    client.timer.unref();
  }

  private send(client: Client, msg: Outgoing): void {
    this.write(client, encodeMessage(msg));
  }

  private write(client: Client, frame: string): void {
    if (!client.socket.destroyed && !client.socket.writableEnded) client.socket.write(frame);
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
