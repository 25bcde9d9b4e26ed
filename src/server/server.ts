/**
 * The signal server: registers receivers under fresh nameplates, pairs a joiner
 * with the receiver of its nameplate, and relays opaque payloads within each pair.
 * It is also the tracker of swarms (swarm.ts): members announce to a swarm
 * id, hear who else is in, and relay sealed payloads to each other.
 *
 * A misbehaving client is that client's problem: it gets an error frame and is
 * closed, and everyone else keeps being served. What any client can cost is
 * bounded (see SignalLimits): sockets and register/join attempts per address
 * (IPv6: per prefix, address-group.ts), sockets and unfinished lines in all,
 * waiting receivers (shared fairly, waiting.ts), bytes queued toward a client
 * and toward all (clients.ts), relays per paired client, TURN credentials per
 * address and hour, STUN answers per address, and how long a connection lives
 * in each phase (handlers.ts).
 *
 * The same port number on UDP answers STUN Binding requests (listen.ts), so peers
 * can learn their public address from the server they already trust to
 * introduce them. With TURN configured (TURN_URLS, TURN_SECRET), each peer of
 * a new pairing gets its own short-lived coturn credentials in `paired`.
 *
 * What instances share lives behind SignalState (state.ts): in this process by
 * default, or in Redis (REDIS_URL), so that instances behind DNS or a load
 * balancer pair a receiver on one with a sender on another, and relay between
 * them over pub/sub.
 *
 * The same TCP port also carries the relay (relay/hub.ts) and HTTP: the
 * browser page, and WebSocket paths for signaling and the relay (http-port.ts),
 * told apart by a connection's first byte (demux.ts); with a certificate, all
 * of these over TLS too (tls.ts).
 *
 * This class is the socket side: it listens, accepts, and accounts for each
 * address's sockets; port.ts makes each a client and routes it by its first
 * byte, and SignalHandlers takes the signaling clients' lines.
 */
import type dgram from 'node:dgram';
import type http from 'node:http';
import type net from 'node:net';
import { PeerlaneError } from '../core/errors.js';
import { addressGroup, plainAddress } from './address-group.js';
import { SignalHandlers } from './handlers.js';
import { boundAddress, listenTcpAndUdp, serveStun } from './listen.js';
import { listenHttp, SignalMetrics } from './metrics.js';
import type { SignalServerOptions } from './options.js';
import { DEFAULT_HTTP_HOST } from './options.js';
import { PortRouter } from './port.js';
import { AddressLimiter, monotonic } from './rate-limit.js';
import { RedisState } from './redis-state.js';
import { DEFAULT_RELAY_LIMITS, RelayHub } from './relay/hub.js';
import type { SignalLimits } from './server-config.js';
import { resolveSignalLimits } from './server-config.js';
import { MemoryState } from './state.js';
import type { SignalState } from './types.js';
import { TrustedProxies } from './web/forwarded.js';

/** How often buckets of addresses that went quiet are forgotten. */
const SWEEP_MS = 60_000;

export class SignalServer {
  readonly limits: Readonly<SignalLimits>;
  readonly metrics = new SignalMetrics(() => ({
    ...this.stats,
    ...this.buffered,
    ...this.handlers.tracker.stats,
  }));
  private tcp: net.Server | undefined;
  private udp: dgram.Socket | undefined;
  private http: http.Server | undefined;
  private stunAnswers = 0;
  private state: SignalState;
  private readonly handlers: SignalHandlers;
  /** Every open socket, rejected or not, so close() can end them all. */
  private readonly sockets = new Set<net.Socket>();
  private readonly limiter: AddressLimiter;
  /** Reverse proxies whose forwarded clients are counted instead of them (web/forwarded.ts). */
  private readonly proxies: TrustedProxies;
  /** STUN answers per address group: a spoofed source must not turn the port into a reflector. */
  private readonly stunLimiter: AddressLimiter;
  /** Bytes of unfinished lines held for all clients (the sum of their decoders' pending bytes). */
  /** Bytes of unfinished lines held for all clients (the sum of their decoders' pending bytes). */
  private readonly pending = { bytes: 0 };
  private sweeper: NodeJS.Timeout | undefined;
  private readonly log: (message: string) => void;
  readonly relay: RelayHub;
  /** What each counted connection becomes, by its first byte (port.ts). */
  private readonly port: PortRouter;

  constructor(private readonly options: SignalServerOptions) {
    this.limits = Object.freeze(resolveSignalLimits(options.limits));
    this.log = options.log ?? (() => {});
    const now = options.now ?? monotonic;
    this.limiter = new AddressLimiter({
      maxConnections: this.limits.maxConnectionsPerIp,
      ratePerMinute: this.limits.joinRatePerMinute,
      burst: this.limits.joinBurst,
      now,
    });
    this.stunLimiter = new AddressLimiter({
      maxConnections: Number.POSITIVE_INFINITY,
      ratePerMinute: this.limits.stunRatePerMinute,
      burst: this.limits.stunBurst,
      now,
    });
    this.state = new MemoryState(this.limiter, now);
    this.proxies = new TrustedProxies(options.trustProxy);
    this.relay = new RelayHub(
      { ...DEFAULT_RELAY_LIMITS, helloTimeoutMs: this.limits.handshakeTimeoutMs, ...options.relay },
      {
        log: this.log,
        now,
        opened: () => this.metrics.relaySessions.inc(),
        forwarded: (n) => this.metrics.relayBytes.inc(n),
        refused: (status) => this.metrics.relayRefused.inc({ status }),
      },
    );
    this.handlers = new SignalHandlers(this.state, {
      limits: this.limits,
      metrics: this.metrics,
      log: this.log,
      turn: options.turn,
      now,
      relayAddress: () => this.publicRelayAddress(),
    });
    this.port = new PortRouter({
      lines: { handlers: this.handlers, limits: this.limits, pending: this.pending },
      relay: this.relay,
      relayOnly: options.relayOnly === true,
      webRoot: options.webRoot,
      stunPort: () => this.udp?.address().port,
      proxies: this.proxies,
      connections: this.limiter,
      tls: options.tls,
      log: this.log,
    });
  }

  /**
   * Start listening on TCP, then on UDP for STUN on the same port number;
   * resolves with the bound address. With port 0, a TCP port whose number is
   * taken on UDP is given back and another one tried.
   */
  async listen(): Promise<{ host: string; port: number }> {
    if (this.options.redisUrl) {
      // Redis's own clock unless one was given: a process's monotonic clock means nothing to another.
      this.state = await RedisState.connect(this.options.redisUrl, this.options.now);
      this.handlers.use(this.state);
    }
    if (this.options.httpPort !== undefined) {
      const httpHost = this.options.httpHost ?? DEFAULT_HTTP_HOST;
      this.http = await listenHttp(
        { host: httpHost, port: this.options.httpPort, maxConnections: this.limits.httpMaxConnections },
        this.metrics,
        () => this.state.ping(),
      );
    }
    const { host, port } = this.options;
    const stun = this.options.stun !== false && this.options.relayOnly !== true;
    const { tcp, udp } = await listenTcpAndUdp(host, port, stun, (s) => this.accept(s), this.log);
    this.tcp = tcp;
    this.udp = udp;
    if (udp !== undefined) {
      const allow = (address: string): boolean =>
        this.stunLimiter.take(addressGroup(address, this.limits.ipv6PrefixBits));
      serveStun(udp, { allow, answered: () => this.stunAnswers++ }, this.log);
    }
    this.sweeper = setInterval(() => {
      this.limiter.sweep();
      this.stunLimiter.sweep();
      this.handlers.sweep();
      this.relay.sweep();
    }, SWEEP_MS);
    this.sweeper.unref();
    return this.address();
  }

  address(): { host: string; port: number } {
    if (this.tcp === undefined) throw new PeerlaneError('INTERNAL', 'server is not listening');
    return boundAddress(this.tcp);
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
    return { clients: this.handlers.clients.size, waiting: this.handlers.waiting.size };
  }

  /** Swarms with a member on this instance, and members here (the tracker). */
  get swarmStats(): { swarms: number; members: number } {
    return this.handlers.tracker.stats;
  }

  /** STUN Binding requests answered on the UDP port so far. */
  get stunAnswered(): number {
    return this.stunAnswers;
  }

  /** Open sockets (rejected ones included until they close), their addresses, and rate buckets held. */
  get accounting(): { connections: number; addresses: number; buckets: number } {
    return this.limiter.size;
  }

  /** Bytes held for clients: queued toward them, and of lines they have not finished. */
  get buffered(): { queued: number; pending: number } {
    return { queued: this.handlers.queued, pending: this.pending.bytes };
  }

  /** Stop listening and end every connection; resolves once nothing of the server is left running. */
  async close(): Promise<void> {
    this.handlers.stop();
    clearInterval(this.sweeper);
    this.relay.close();
    this.port.close();
    const closed = [...this.sockets].map((s) => new Promise((resolve) => s.once('close', resolve)));
    for (const socket of this.sockets) socket.destroy();
    const { tcp, udp, http } = this;
    this.udp = undefined;
    await Promise.all([
      ...closed,
      new Promise((resolve) => (tcp === undefined ? resolve(undefined) : tcp.close(resolve))),
      new Promise<void>((resolve) => (udp === undefined ? resolve() : udp.close(() => resolve()))),
      new Promise((resolve) => (http === undefined ? resolve(undefined) : http.close(resolve))),
    ]);
    http?.closeAllConnections();
    await this.state.close();
  }

  /** What `paired` names as the relay: RELAY_ADDRESS, this instance's or a relay-only process's. */
  private publicRelayAddress(): string | undefined {
    const given = this.options.relayAddress;
    if (given === undefined) return undefined;
    if (!given.endsWith(':0') || this.tcp === undefined) return given;
    return `${given.slice(0, -1)}${(this.tcp.address() as net.AddressInfo).port}`;
  }

  private accept(socket: net.Socket): void {
    if (socket.remoteAddress === undefined) {
      socket.destroy(); // gone before we saw it
      return;
    }
    const client = this.port.client(socket, plainAddress(socket.remoteAddress));
    const { group } = client;
    this.sockets.add(socket);
    // A trusted proxy's connections carry many clients: each is counted when its WebSocket names it (http-port.ts).
    const proxy = this.proxies.trusts(client.address);
    const withinCap = proxy || this.limiter.connect(group);
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (!proxy) this.limiter.disconnect(group);
    });
    // Every socket counts, rejected ones too until they close: the cap is on what the server holds.
    const refusal =
      this.sockets.size > this.limits.maxConnections
        ? new PeerlaneError('SERVER_BUSY', 'too many connections to this server')
        : withinCap
          ? undefined
          : new PeerlaneError('RATE_LIMITED', 'too many connections from this address');
    if (refusal !== undefined) {
      this.handlers.reject(client, refusal);
      return;
    }
    socket.setNoDelay(true);
    this.port.serve(client, socket);
  }
}
