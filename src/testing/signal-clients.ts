/**
 * What the signal server's tests share: a server in this process on a free
 * loopback port, raw clients that misbehave on purpose (from other loopback
 * addresses where the OS has them), and the checks they make.
 *
 * Bound to vitest (it asserts): only tests import it, never the package's
 * entry points.
 */
import net from 'node:net';
import { expect } from 'vitest';
import WebSocket from 'ws';
import { RELAY_WS_PATH } from '../core/relay/protocol.js';
import { SIGNAL_PROTOCOL_VERSION } from '../core/signaling/protocol.js';
import type { SignalServerOptions } from '../server/options.js';
import { SignalServer } from '../server/server.js';
import type { SignalLimits } from '../server/server-config.js';
import { LOOPBACK } from './harness.js';
import type { LineClient, RawClient, WsClientOptions, WsRawClient } from './raw-client.js';
import { rawSignalClient, rawSignalWebSocket } from './raw-client.js';

export const v = SIGNAL_PROTOCOL_VERSION;
export const NAMEPLATE = /^[1-9][0-9]{0,5}$/;
export const WAIT_MS = 5_000;
/** Another loopback address, for a second client address where the OS lets us bind it (see canBind). */
export const OTHER_ADDRESS = '127.0.0.2';

/** Where a signal server listens, in this process or another. */
export interface Address {
  host: string;
  port: number;
}

export interface Started {
  server: SignalServer;
  host: string;
  port: number;
  /** Every line the server logged. */
  log: string[];
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether this machine lets a socket bind `address` (Linux routes all of 127/8 to loopback). */
export function canBind(address: string): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const probe = net.createServer((s) => s.destroy());
    probe.listen(0, LOOPBACK, () => {
      const { port } = probe.address() as net.AddressInfo;
      const c = net.connect({ host: LOOPBACK, port, localAddress: address });
      const done = (ok: boolean): void => {
        c.destroy();
        probe.close();
        resolve(ok);
      };
      c.once('connect', () => done(true));
      c.once('error', () => done(false));
    });
  });
}

/** Servers and raw clients of one test file; `cleanup()` in its afterEach. */
export class SignalBench {
  private readonly servers: SignalServer[] = [];
  private readonly sockets: net.Socket[] = [];
  private readonly webSockets: WebSocket[] = [];

  async start(
    limits: Partial<SignalLimits> = {},
    options: Partial<SignalServerOptions> = {},
  ): Promise<Started> {
    const log: string[] = [];
    const server = new SignalServer({ host: LOOPBACK, port: 0, limits, log: (m) => log.push(m), ...options });
    this.servers.push(server);
    return { server, log, ...(await server.listen()) };
  }

  rawClient(to: Address, options: { localAddress?: string } = {}): RawClient {
    const client = rawSignalClient(to, { ...options, waitMs: WAIT_MS });
    this.sockets.push(client.socket);
    return client;
  }

  /** A raw client, once its TCP connection is up. */
  async connect(to: Address, options: { localAddress?: string } = {}): Promise<RawClient> {
    const c = this.rawClient(to, options);
    await new Promise<void>((resolve, reject) => {
      c.socket.once('connect', resolve);
      c.closed.then(() => reject(new Error('closed before connecting')));
    });
    return c;
  }

  /** A raw client over the signaling WebSocket (GET /signal), once it is open. */
  async webSocket(to: Address, options: WsClientOptions = {}): Promise<WsRawClient> {
    const c = await rawSignalWebSocket(to, { waitMs: WAIT_MS, ...options });
    this.webSockets.push(c.ws);
    return c;
  }

  /**
   * A WebSocket on the relay's path (GET /relay), once it is open; rejects
   * with ws's error when the upgrade is refused (its message names the status).
   */
  async relayWebSocket(to: Address, options: { headers?: Record<string, string> } = {}): Promise<WebSocket> {
    const ws = new WebSocket(`ws://${to.host}:${to.port}${RELAY_WS_PATH}`, options);
    this.webSockets.push(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return ws;
  }

  async register(to: Address, options: { localAddress?: string } = {}): Promise<RawClient> {
    const c = await this.connect(to, options);
    c.sendJson({ v, type: 'register' });
    return c;
  }

  /** Register A, join it with B; resolves once both know they are paired. */
  async pair(to: Address, options: { localAddress?: string } = {}): Promise<{ a: RawClient; b: RawClient }> {
    const a = await this.register(to, options);
    const { nameplate } = await a.next();
    const b = await this.connect(to, options);
    b.sendJson({ v, type: 'join', nameplate });
    // Both sides get the same fresh session id for their CPace (see secure/cpace.ts).
    const sid = expect.stringMatching(/^[\w-]{22}$/);
    expect(await a.next()).toMatchObject({ type: 'paired', role: 'answerer', sid });
    expect(await b.next()).toMatchObject({ type: 'paired', role: 'offerer', sid });
    return { a, b };
  }

  /** Destroy every raw client's socket. */
  dropClients(): void {
    for (const s of this.sockets.splice(0)) s.destroy();
    for (const ws of this.webSockets.splice(0)) ws.terminate();
  }

  async cleanup(): Promise<void> {
    this.dropClients();
    await Promise.all(this.servers.splice(0).map((s) => s.close()));
  }
}

/** The client got exactly one error frame, its last line, with `code`, and the server then closed it. */
export async function expectRejected(client: LineClient, code: string, message?: string): Promise<void> {
  await expect
    .poll(() => client.isClosed(), { timeout: WAIT_MS, message: `server closing the client after ${code}` })
    .toBe(true);
  const errors = client.lines.filter((l) => l.type === 'error');
  expect(errors, JSON.stringify(client.lines)).toHaveLength(1);
  expect(client.lines.at(-1)).toEqual({ v, type: 'error', code, message: message ?? expect.any(String) });
  expect(client.closedByServer()).toBe(true);
}

/** A fresh client can still register, and then leaves. */
export async function expectServes(bench: SignalBench, to: Address): Promise<void> {
  const fresh = await bench.register(to);
  expect(await fresh.next()).toEqual({ v, type: 'registered', nameplate: expect.stringMatching(NAMEPLATE) });
  fresh.end();
  await expect
    .poll(() => fresh.isClosed(), { timeout: WAIT_MS, message: 'closing the fresh client' })
    .toBe(true);
}

/** The server holds nothing: no client, no waiting receiver, no open socket. */
export async function expectEmpty(server: SignalServer): Promise<void> {
  await expect.poll(() => server.stats, { timeout: WAIT_MS }).toEqual({ clients: 0, waiting: 0 });
  await expect.poll(() => server.accounting.connections, { timeout: WAIT_MS }).toBe(0);
  expect(server.accounting.addresses).toBe(0);
}

/** Random bytes that contain no newline, so they make one line; the same bytes every run. */
export function binaryGarbage(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  let seed = 0x2545f491;
  for (let i = 0; i < length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const byte = seed >>> 24;
    bytes[i] = byte === 0x0a ? 0xff : byte;
  }
  return bytes;
}
