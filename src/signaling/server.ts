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
 */
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import { LineDecoder } from './framing.js';
import type { ClientMessage, ServerMessage, TurnGrant } from './protocol.js';
import { encodeMessage, MAX_SIGNAL_MESSAGE_BYTES, parseClientMessage } from './protocol.js';
import { AddressLimiter } from './rate-limit.js';
import type { SignalLimits } from './server-config.js';
import { resolveSignalLimits } from './server-config.js';
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
  partner?: Client | undefined;
  /** The deadline of the current phase: handshake, nameplate TTL, or idle. */
  timer?: NodeJS.Timeout | undefined;
}

type Outgoing = ServerMessage extends infer T ? (T extends unknown ? Omit<T, 'v'> : never) : never;

export class SignalServer {
  readonly limits: Readonly<SignalLimits>;
  private server: net.Server;
  private udp: dgram.Socket | undefined;
  private stunAnswers = 0;
  private readonly waiting = new Map<string, Client>();
  /** Clients in good standing; a rejected client leaves at once. */
  private readonly clients = new Set<Client>();
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
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /**
   * Start listening on TCP, then on UDP for STUN on the same port number;
   * resolves with the bound address. With port 0, a TCP port whose number is
   * taken on UDP is given back and another one tried.
   */
  async listen(): Promise<{ host: string; port: number }> {
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
    clearInterval(this.sweeper);
    for (const client of this.clients) clearTimeout(client.timer);
    const closed = [...this.sockets].map((s) => new Promise((resolve) => s.once('close', resolve)));
    for (const socket of this.sockets) socket.destroy();
    const udp = this.udp;
    this.udp = undefined;
    await Promise.all([
      ...closed,
      new Promise((resolve) => this.server.close(resolve)),
      new Promise<void>((resolve) => (udp === undefined ? resolve() : udp.close(() => resolve()))),
    ]);
  }

  private accept(socket: net.Socket): void {
    const address = socket.remoteAddress?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
    if (address === undefined) {
      socket.destroy(); // gone before we saw it
      return;
    }
    const client: Client = { id: this.nextId++, socket, address };
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
    this.clients.add(client);
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
        for (const line of decoder.push(chunk)) {
          // Whatever a rejected client sends after its error is ignored.
          if (!this.clients.has(client)) return;
          this.handle(client, parseClientMessage(line));
        }
      } catch (err) {
        if (this.clients.has(client)) this.reject(client, toPeerlaneError(err, 'BAD_MESSAGE'));
      }
    });
  }

  private handle(client: Client, msg: ClientMessage): void {
    if (client.partner !== undefined) client.timer?.refresh(); // a paired client is not idle
    switch (msg.type) {
      case 'register': {
        this.spendToken(client);
        if (this.waiting.size >= this.limits.maxNameplates) {
          throw new PeerlaneError('SERVER_BUSY', 'too many receivers are waiting');
        }
        const nameplate = this.allocateNameplate();
        client.nameplate = nameplate;
        this.waiting.set(nameplate, client);
        this.arm(client, this.limits.nameplateTtlMs, 'NAMEPLATE_EXPIRED', 'no sender came in time');
        this.send(client, { type: 'registered', nameplate });
        this.log(`client ${client.id} registered`);
        return;
      }
      case 'join': {
        this.spendToken(client);
        const host = this.waiting.get(msg.nameplate);
        if (host === undefined) {
          throw new PeerlaneError('PEER_NOT_FOUND', 'no receiver is waiting with that code');
        }
        // One pairing per nameplate: a joiner gets exactly one PAKE guess, and a
        // wrong one ends the receiver's session rather than allowing another.
        this.waiting.delete(msg.nameplate);
        client.nameplate = msg.nameplate;
        host.partner = client;
        client.partner = host;
        for (const c of [host, client])
          this.arm(c, this.limits.idleTimeoutMs, 'BAD_MESSAGE', 'idle too long');
        this.send(host, { type: 'paired', role: 'answerer', ...this.turnGrant(host) });
        this.send(client, { type: 'paired', role: 'offerer', ...this.turnGrant(client) });
        this.log(
          `clients ${host.id} and ${client.id} paired${this.options.turn ? ', TURN credentials issued' : ''}`,
        );
        return;
      }
      case 'relay': {
        if (client.partner === undefined) throw new PeerlaneError('BAD_MESSAGE', 'relay before pairing');
        this.send(client.partner, { type: 'relay', payload: msg.payload });
        return;
      }
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
  private spendToken(client: Client): void {
    if (client.nameplate !== undefined) {
      throw new PeerlaneError('BAD_MESSAGE', 'already registered');
    }
    if (!this.limiter.take(client.address)) {
      throw new PeerlaneError('RATE_LIMITED', 'too many registers or joins from this address');
    }
  }

  /** Replace the client's deadline: when it passes, the client is rejected with `code`. */
  private arm(client: Client, ms: number, code: PeerlaneError['code'], message: string): void {
    clearTimeout(client.timer);
    client.timer = setTimeout(() => this.reject(client, new PeerlaneError(code, message)), ms);
    client.timer.unref();
  }

  /**
   * A free nameplate, random within the smallest power of ten that is at most
   * half full: short while few receivers wait, never a long search. The cap on
   * waiting receivers keeps it within six digits.
   */
  private allocateNameplate(): string {
    let range = 100;
    while (this.waiting.size * 2 >= range) range *= 10;
    for (;;) {
      const nameplate = String(randomInt(1, range));
      if (!this.waiting.has(nameplate)) return nameplate;
    }
  }

  private send(client: Client, msg: Outgoing): void {
    if (!client.socket.destroyed && !client.socket.writableEnded) client.socket.write(encodeMessage(msg));
  }

  /** Tell the offender why, then close it; the rest of the server carries on. */
  private reject(client: Client, err: PeerlaneError): void {
    this.log(`client ${client.id} (${client.address}) rejected: ${err.code}: ${err.message}`);
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
    if (!this.clients.delete(client)) return;
    if (client.nameplate !== undefined && this.waiting.get(client.nameplate) === client) {
      this.waiting.delete(client.nameplate);
    }
    const partner = client.partner;
    if (partner !== undefined) {
      partner.partner = undefined;
      client.partner = undefined;
      this.send(partner, { type: 'peer-left' });
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
