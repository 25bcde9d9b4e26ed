/**
 * The signal server's optional HTTP port (SIGNAL_HTTP_PORT): `/healthz` (200
 * "ok", or 503 when the shared state, Redis, does not answer) and Prometheus
 * `/metrics`. Each server has its own registry, so several can share a process.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { Counter, Gauge, Registry } from 'prom-client';
import { PeerlaneError } from '../core/errors.js';
import type { SessionPath } from '../core/signaling/protocol.js';

/** What the server reports as gauges, read when scraped. */
type GaugeStat = 'queued' | 'pending' | 'clients' | 'waiting' | 'swarms' | 'members';

const GAUGES: [stat: GaugeStat, name: string, help: string][] = [
  [
    'queued',
    'peerlane_signal_queued_bytes',
    'Bytes queued toward clients that have not read them yet (SIGNAL_MAX_QUEUED_BYTES caps it)',
  ],
  [
    'pending',
    'peerlane_signal_pending_bytes',
    'Bytes of messages clients have begun but not finished (SIGNAL_MAX_PENDING_BYTES caps it)',
  ],
  ['clients', 'peerlane_signal_connected_clients', 'Clients connected to this instance, in good standing'],
  ['waiting', 'peerlane_signal_open_nameplates', 'Receivers waiting on this instance under a nameplate'],
  ['swarms', 'peerlane_signal_swarms', 'Swarms with a member announced on this instance (the tracker)'],
  [
    'members',
    'peerlane_signal_swarm_members',
    'Swarm members announced on this instance (SIGNAL_SWARM_MEMBERS caps each swarm)',
  ],
];

export class SignalMetrics {
  readonly registry = new Registry();
  readonly pairings: Counter;
  readonly relayed: Counter;
  readonly rejected: Counter<'code'>;
  readonly sessions: Counter<'path'>;
  readonly relaySessions: Counter;
  readonly relayBytes: Counter;
  readonly relayRefused: Counter<'status'>;

  constructor(stats: () => Record<GaugeStat, number>) {
    const registers = [this.registry];
    for (const [key, name, help] of GAUGES) {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(stats()[key]);
        },
      });
    }
    this.pairings = new Counter({
      name: 'peerlane_signal_pairings_total',
      help: 'Joiners paired with a waiting receiver (counted by the joiner’s instance)',
      registers,
    });
    this.relayed = new Counter({
      name: 'peerlane_signal_relayed_messages_total',
      help: 'Payloads relayed from a client of this instance to its peer',
      registers,
    });
    this.rejected = new Counter({
      name: 'peerlane_signal_rejected_clients_total',
      help: 'Clients sent an error frame and closed, by error code',
      labelNames: ['code'],
      registers,
    });
    this.sessions = new Counter({
      name: 'peerlane_signal_sessions_total',
      help: 'Sessions whose data channel opened, by path, as reported by the peers',
      labelNames: ['path'],
      registers,
    });
    this.relaySessions = new Counter({
      name: 'peerlane_relay_sessions_total',
      help: 'Relayed sessions opened: two peers glued together on this instance (RELAY_ENABLED)',
      registers,
    });
    this.relayBytes = new Counter({
      name: 'peerlane_relay_bytes_total',
      help: 'Bytes forwarded by the relay, both directions (sealed: the relay reads none of it)',
      registers,
    });
    this.relayRefused = new Counter({
      name: 'peerlane_relay_refused_total',
      help: 'Relay connections refused, by the status they were sent',
      labelNames: ['status'],
      registers,
    });
  }

  session(path: SessionPath): void {
    this.sessions.inc({ path });
  }
}

/**
 * How long a client of the HTTP port may take to send its request headers,
 * and its whole request: a scrape is one short GET, so a connection that
 * dawdles holds one of the few places for nothing.
 */
const HTTP_HEADERS_TIMEOUT_MS = 5_000;
const HTTP_REQUEST_TIMEOUT_MS = 10_000;
/** How often those timeouts are checked (Node's default is 30 s). */
const HTTP_CHECK_INTERVAL_MS = 1_000;
/** A connection silent this long is closed: the timeouts above only start with a request's first byte. */
const HTTP_IDLE_TIMEOUT_MS = 5_000;

/**
 * Serve /healthz and /metrics on `host:port`, holding at most `maxConnections`
 * connections (more are closed as they arrive); resolves with the server.
 */
export async function listenHttp(
  where: { host: string; port: number; maxConnections: number },
  metrics: SignalMetrics,
  healthy: () => Promise<void>,
): Promise<http.Server> {
  const { host, port } = where;
  const server = http.createServer(
    {
      headersTimeout: HTTP_HEADERS_TIMEOUT_MS,
      requestTimeout: HTTP_REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: HTTP_CHECK_INTERVAL_MS,
    },
    (req, res) => {
      void respond(req.url ?? '', res, metrics, healthy);
    },
  );
  server.maxConnections = where.maxConnections;
  server.setTimeout(HTTP_IDLE_TIMEOUT_MS);
  // A connection that times out or sends garbage is closed outright. Left to
  // Node, a header timeout was seen to answer 408 and keep the socket open,
  // holding one of the few places for good.
  server.on('timeout', (socket: Duplex) => socket.destroy());
  server.on('clientError', (_err, socket: Duplex) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new PeerlaneError('LISTEN_FAILED', `cannot listen on http ${host}:${port}: ${err.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  return server;
}

async function respond(
  url: string,
  res: http.ServerResponse,
  metrics: SignalMetrics,
  healthy: () => Promise<void>,
): Promise<void> {
  const path = url.split('?')[0];
  try {
    if (path === '/healthz') {
      try {
        await healthy();
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } catch (err) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end(`unhealthy: ${(err as Error).message}\n`);
      }
    } else if (path === '/metrics') {
      const body = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  } catch {
    if (!res.headersSent) res.writeHead(500).end();
  }
}
