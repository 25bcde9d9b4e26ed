/**
 * The signal server: registers receivers under fresh nameplates, pairs a joiner
 * with the receiver of its nameplate, and relays opaque payloads within each pair.
 *
 * A misbehaving client is that client's problem: it gets an error frame and is
 * closed, and everyone else keeps being served. What any client can cost is
 * bounded (see SignalLimits): sockets and register/join attempts per address,
 * waiting receivers, and how long a connection lives in each phase:
 *
 *   connected --register--> waiting --joined--> paired
 *   handshake timeout       nameplate TTL       idle timeout (reset by each message)
 *
 * The same port number on UDP answers STUN Binding requests (stun.ts), so peers
 * can learn their public address from the server they already trust to
 * introduce them. With TURN configured (TURN_URLS, TURN_SECRET), each peer of
 * a new pairing gets its own short-lived coturn credentials in `paired`.
 *
 * What instances share lives behind SignalState (state.ts): in this process by
 * default, or in Redis (REDIS_URL), so that instances behind DNS or a load
 * balancer pair a receiver on one with a sender on another, and relay between
 * them over pub/sub. Messages of one client are handled in order, one at a time.
 */
import dgram from 'node:dgram';
import type http from 'node:http';
import net from 'node:net';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import { claimByName } from './directory.js';
import { LineDecoder } from './framing.js';
import { listenHttp, SignalMetrics } from './metrics.js';
import type { ClientMessage, ServerMessage, TurnGrant } from './protocol.js';
import { encodeMessage, MAX_LISTED_PEERS, MAX_SIGNAL_MESSAGE_BYTES, parseClientMessage } from './protocol.js';
import { AddressLimiter } from './rate-limit.js';
import { RedisState } from './redis-state.js';
import type { SignalLimits } from './server-config.js';
import { resolveSignalLimits } from './server-config.js';
import type { ClientRef, Envelope, SignalState } from './state.js';
import { MemoryState, newResumeToken } from './state.js';
import { answerBindingRequest } from './stun.js';
import type { TurnConfig } from './turn.js';
import { issueTurnCredentials } from './turn.js';

export interface SignalServerOptions {
  host: string;
  /** 0 picks a free port; read it back from `address()`. */
  port: number;
  /** Receives one line per notable event; defaults to silence. */
  log?: (message: string) => void;
  /** Any limit left out takes its default (DEFAULT_SIGNAL_LIMITS). Throws BAD_CONFIG if one is invalid. */
  limits?: Partial<SignalLimits>;
  /** Answer STUN Binding requests on UDP, on the TCP port's number (default true). */
  stun?: boolean;
  /** Issue coturn REST credentials to paired peers; see resolveTurnConfig(). */
  turn?: TurnConfig | undefined;
  /** Share nameplates, pairings and rate limits with other instances through this Redis. */
  redisUrl?: string | undefined;
  /** Serve /healthz and /metrics over HTTP on this port of `host` (0 picks one; see httpAddress()). */
  httpPort?: number | undefined;
}

/** With port 0, how often to pick another TCP port when its number is taken on UDP. */
const UDP_PORT_ATTEMPTS = 8;

/** How long a rejected client gets to read its error frame before its socket is destroyed. */
const LINGER_MS = 1000;
/** How often buckets of addresses that went quiet are forgotten. */
const SWEEP_MS = 60_000;

interface Client {
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

export class SignalServer {
  readonly limits: Readonly<SignalLimits>;
  private server: net.Server;
  private udp: dgram.Socket | undefined;
  private stunAnswers = 0;
  /**
   * Receivers waiting on this instance. Not keyed by nameplate: once a joiner
   * has claimed one, it is free for a new receiver before the old one hears
   * of its pairing (through pub/sub), so two clients may hold it for a moment.
   */
  private readonly waiting = new Set<Client>();
  /** Clients in good standing, by number; a rejected client leaves at once. */
  private readonly clients = new Map<number, Client>();
  private state: SignalState;
  private http: http.Server | undefined;
  /** Set by close(): waiters then keep their shared nameplates, for reclaim elsewhere. */
  private closing = false;
  readonly metrics = new SignalMetrics(() => this.stats);
  /** Every open socket, rejected or not, so close() can end them all. */
  private readonly sockets = new Set<net.Socket>();
  private readonly limiter: AddressLimiter;
  private sweeper: NodeJS.Timeout | undefined;
  private nextId = 1;
  private readonly log: (message: string) => void;

  constructor(private readonly options: SignalServerOptions) {
    this.limits = Object.freeze(resolveSignalLimits(options.limits));
    this.log = options.log ?? (() => {});
    this.limiter = new AddressLimiter({
      maxConnections: this.limits.maxConnectionsPerIp,
      ratePerMinute: this.limits.joinRatePerMinute,
      burst: this.limits.joinBurst,
    });
    this.state = new MemoryState(this.limiter);
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /**
   * Start listening on TCP, then on UDP for STUN on the same port number;
   * resolves with the bound address. With port 0, a TCP port whose number is
   * taken on UDP is given back and another one tried.
   */
  async listen(): Promise<{ host: string; port: number }> {
    if (this.options.redisUrl) this.state = await RedisState.connect(this.options.redisUrl);
    this.state.onEnvelope((envelope) => this.deliver(envelope));
    if (this.options.httpPort !== undefined) {
      this.http = await listenHttp(this.options.host, this.options.httpPort, this.metrics, () =>
        this.state.ping(),
      );
    }
    for (let attempt = 1; ; attempt++) {
      await this.listenTcp();
      if (this.options.stun === false) break;
      const { host, port } = this.address();
      try {
        this.udp = await bindUdp(host, port);
        break;
      } catch (err) {
        await new Promise((resolve) => this.server.close(resolve));
        this.server = net.createServer((socket) => this.accept(socket));
        const errno = (err as NodeJS.ErrnoException).code;
        if (this.options.port !== 0 || errno !== 'EADDRINUSE' || attempt >= UDP_PORT_ATTEMPTS) {
          throw new PeerlaneError(
            'LISTEN_FAILED',
            `cannot answer STUN on UDP ${host}:${port} (the signal server's port number): ${(err as Error).message}`,
          );
        }
      }
    }
    const udp = this.udp;
    udp?.on('message', (datagram, from) => {
      const answer = answerBindingRequest(datagram, from);
      if (answer === undefined) return;
      this.stunAnswers++;
      udp.send(answer, from.port, from.address);
    });
    udp?.on('error', (err) => this.log(`STUN socket error: ${err.message}`));
    this.sweeper = setInterval(() => this.limiter.sweep(), SWEEP_MS);
    this.sweeper.unref();
    return this.address();
  }

  private async listenTcp(): Promise<void> {
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
  }

  address(): { host: string; port: number } {
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string')
      throw new PeerlaneError('INTERNAL', 'server is not listening');
    return { host: addr.address, port: addr.port };
  }

  /** Where /healthz and /metrics are served, if an HTTP port was asked for. */
  httpAddress(): { host: string; port: number } | undefined {
    const addr = this.http?.address();
    if (addr === undefined || addr === null || typeof addr === 'string') return undefined;
    return { host: addr.address, port: addr.port };
  }

  /** This instance's id among those sharing state. */
  get instance(): string {
    return this.state.instance;
  }

  get stats(): { clients: number; waiting: number } {
    return { clients: this.clients.size, waiting: this.waiting.size };
  }

  /** STUN Binding requests answered on the UDP port so far. */
  get stunAnswered(): number {
    return this.stunAnswers;
  }

  /** Open sockets (rejected ones included until they close), their addresses, and rate buckets held. */
  get accounting(): { connections: number; addresses: number; buckets: number } {
    return this.limiter.size;
  }

  /** Stop listening and end every connection; resolves once nothing of the server is left running. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    for (const client of this.clients.values()) clearTimeout(client.timer);
    const closed = [...this.sockets].map((s) => new Promise((resolve) => s.once('close', resolve)));
    for (const socket of this.sockets) socket.destroy();
    const udp = this.udp;
    this.udp = undefined;
    await Promise.all([
      ...closed,
      new Promise((resolve) => this.server.close(resolve)),
      new Promise<void>((resolve) => (udp === undefined ? resolve() : udp.close(() => resolve()))),
      new Promise((resolve) => (this.http === undefined ? resolve(undefined) : this.http.close(resolve))),
    ]);
    this.http?.closeAllConnections();
    await this.state.close();
  }

  private accept(socket: net.Socket): void {
    const address = socket.remoteAddress?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    if (address === undefined) {
      socket.destroy(); // gone before we saw it
      return;
    }
    const client: Client = { id: this.nextId++, socket, address, queue: Promise.resolve() };
    this.sockets.add(socket);
    const withinCap = this.limiter.connect(address);
    socket.on('error', () => {
      // A reset or a write after the peer left; 'close' follows and cleans up.
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.limiter.disconnect(address);
      this.drop(client);
    });
    if (!withinCap) {
      this.reject(client, new PeerlaneError('RATE_LIMITED', 'too many connections from this address'));
      return;
    }
    this.clients.set(client.id, client);
    socket.setNoDelay(true);
    this.arm(
      client,
      this.limits.handshakeTimeoutMs,
      'BAD_MESSAGE',
      'no register or join within the time limit',
    );
    const decoder = new LineDecoder(MAX_SIGNAL_MESSAGE_BYTES);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const line of decoder.push(chunk)) this.enqueue(client, () => parseClientMessage(line));
      } catch (err) {
        this.enqueue(client, () => {
          throw err;
        });
      }
    });
  }

  /** Handle the client's next message after its previous one; whatever follows an error is ignored. */
  private enqueue(client: Client, message: () => ClientMessage): void {
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
        await this.spendToken(client);
        if (this.waiting.size >= this.limits.maxNameplates) {
          throw new PeerlaneError('SERVER_BUSY', 'too many receivers are waiting');
        }
        const resume = newResumeToken();
        client.nameplate = await this.state.allocate(
          { ...this.ref(client), resume },
          this.limits.nameplateTtlMs,
        );
        if (msg.name !== undefined) await this.reserveName(client, msg.name, msg.listed === true, resume);
        if (this.gone(client)) return;
        this.wait(client, this.limits.nameplateTtlMs, resume);
        this.log(`client ${client.id} registered`);
        return;
      }
      case 'reclaim': {
        await this.spendToken(client);
        const left = await this.state.reclaim(msg.nameplate, msg.token, this.ref(client));
        if (left === undefined) throw new PeerlaneError('PEER_NOT_FOUND', 'that nameplate is no longer held');
        client.nameplate = msg.nameplate;
        if (this.gone(client)) return;
        this.wait(client, left, msg.token);
        this.log(`client ${client.id} reclaimed its nameplate`);
        return;
      }
      case 'join': {
        await this.spendToken(client);
        // One pairing per nameplate, whichever instance holds it: a joiner gets
        // exactly one PAKE guess, and a wrong one ends the receiver's session.
        const byName = 'name' in msg;
        const found = byName
          ? await claimByName(this.state, msg.name)
          : { nameplate: msg.nameplate, host: await this.state.claim(msg.nameplate) };
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
        this.metrics.pairings.inc();
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
        this.log(
          `client ${client.id} joined a receiver on ${host.instance === this.instance ? 'this' : 'another'} instance`,
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
        this.metrics.relayed.inc();
        this.route(client.partner, { to: client.partner.client, kind: 'relay', payload: msg.payload });
        return;
      }
      case 'report': {
        if (!client.joined || client.reported) return;
        client.reported = true;
        this.metrics.session(msg.path);
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
      this.state.directory.remove(named.name, named.resume).catch((err) => this.log(`unname failed: ${err}`));
    }
  }

  /** The client now waits under its nameplate, for `ms` at most. */
  private wait(client: Client, ms: number, resume: string): void {
    const nameplate = client.nameplate ?? '';
    this.waiting.add(client);
    this.arm(client, ms, 'NAMEPLATE_EXPIRED', 'no sender came in time');
    // A token to reclaim the nameplate is only worth having where it outlives this instance.
    this.send(client, {
      type: 'registered',
      nameplate,
      ...(this.state.shared ? { resume } : {}),
      ...(client.named !== undefined ? { name: client.named.name } : {}),
    });
  }

  /** To a client of this instance at once, or of another through the shared state. */
  private route(to: ClientRef, envelope: Envelope): void {
    if (to.instance === this.state.instance) this.deliver(envelope);
    else this.state.publish(to.instance, envelope).catch((err) => this.log(`publish failed: ${err}`));
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
        if (client?.partner !== undefined) this.send(client, { type: 'relay', payload: envelope.payload });
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

  /** A register or join: once per client, and paid for from its address's bucket. */
  private async spendToken(client: Client): Promise<void> {
    if (client.nameplate !== undefined) {
      throw new PeerlaneError('BAD_MESSAGE', 'already registered');
    }
    const bucket = { ratePerMinute: this.limits.joinRatePerMinute, burst: this.limits.joinBurst };
    if (!(await this.state.take(client.address, bucket))) {
      throw new PeerlaneError('RATE_LIMITED', 'too many registers or joins from this address');
    }
  }

  /** Replace the client's deadline: when it passes, the client is rejected with `code`. */
  private arm(client: Client, ms: number, code: PeerlaneError['code'], message: string): void {
    clearTimeout(client.timer);
    client.timer = setTimeout(() => this.reject(client, new PeerlaneError(code, message)), ms);
    client.timer.unref();
  }

  private send(client: Client, msg: Outgoing): void {
    if (!client.socket.destroyed && !client.socket.writableEnded) client.socket.write(encodeMessage(msg));
  }

  /** Tell the offender why, then close it; the rest of the server carries on. */
  private reject(client: Client, err: PeerlaneError): void {
    this.log(`client ${client.id} (${client.address}) rejected: ${err.code}: ${err.message}`);
    this.metrics.rejected.inc({ code: err.code });
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
  private drop(client: Client): void {
    clearTimeout(client.timer);
    client.timer = undefined;
    if (!this.clients.delete(client.id)) return;
    const { nameplate, partner } = client;
    if (nameplate !== undefined && this.waiting.delete(client)) {
      if (!this.closing || !this.state.shared) {
        this.state.release(nameplate, this.ref(client)).catch((err) => this.log(`release failed: ${err}`));
        this.unname(client);
      }
    }
    if (partner !== undefined) {
      client.partner = undefined;
      this.route(partner, { to: partner.client, kind: 'left' });
    }
  }
}

function bindUdp(host: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    socket.once('error', (err) => {
      try {
        socket.close();
      } catch {
        // never bound: nothing to close
      }
      reject(err);
    });
    socket.bind(port, host, () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}
