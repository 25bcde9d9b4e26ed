/**
 * The signal server's optional HTTP port (SIGNAL_HTTP_PORT): `/healthz` (200
 * "ok", or 503 when the shared state, Redis, does not answer) and Prometheus
 * `/metrics`. Each server has its own registry, so several can share a process.
 */
import http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { PeerlaneError } from '../errors.js';
import type { SessionPath } from './protocol.js';

export class SignalMetrics {
  readonly registry = new Registry();
  readonly pairings: Counter;
  readonly relayed: Counter;
  readonly rejected: Counter<'code'>;
  readonly sessions: Counter<'path'>;

  constructor(stats: () => { clients: number; waiting: number }) {
    const registers = [this.registry];
    new Gauge({
      name: 'peerlane_signal_connected_clients',
      help: 'Clients connected to this instance, in good standing',
      registers,
      collect() {
        this.set(stats().clients);
      },
    });
    new Gauge({
      name: 'peerlane_signal_open_nameplates',
      help: 'Receivers waiting on this instance under a nameplate',
      registers,
      collect() {
        this.set(stats().waiting);
      },
    });
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
  }

  session(path: SessionPath): void {
    this.sessions.inc({ path });
  }
}

/** Serve /healthz and /metrics on `host:port`; resolves with the bound port. */
export async function listenHttp(
  host: string,
  port: number,
  metrics: SignalMetrics,
  healthy: () => Promise<void>,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    void respond(req.url ?? '', res, metrics, healthy);
  });
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
