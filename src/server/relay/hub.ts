/**
 * The relay's server side (core/relay/protocol.ts has the diagram): read a
 * hello, pair two connections by token, answer both PAIRED and glue their
 * byte streams together under the operator's caps. It never parses what it
 * forwards: after PAIRED the bytes are the peers' sealed records.
 *
 * Each connection is in one of three places: reading its hello, waiting for
 * its partner (by token), or in a session. Every exit path goes through
 * `refuse` or `RelaySession.end`, which destroy the sockets and count.
 */
import type net from 'node:net';
import { PeerlaneError } from '../../core/errors.js';
import type { RelayStatusName } from '../../core/relay/protocol.js';
import { encodeRelayStatus, parseRelayHello, RELAY_HELLO_BYTES } from '../../core/relay/protocol.js';
import type { Clock } from './gate.js';
import { AddressQuota, ByteGate } from './gate.js';
import { RelaySession } from './session.js';

export interface RelayLimits {
  /** Off by default on a public server: a relay spends the operator's bandwidth. */
  enabled: boolean;
  /** Relayed sessions at once (pairs); a connection past it is refused RELAY_BUSY. */
  maxSessions: number;
  /** Bytes per second one session may move, both directions together; 0 for no cap. */
  sessionBytesPerSecond: number;
  /** Bytes per second all sessions together may move; 0 for no cap. */
  totalBytesPerSecond: number;
  /** Bytes one address may send through the relay per quota window; 0 for no quota. */
  addressQuotaBytes: number;
  quotaWindowMs: number;
  /** A session with no byte either way for this long is closed. */
  idleTimeoutMs: number;
  /** How long the first of a pair waits for the second. */
  pairTimeoutMs: number;
  /** How long a connection may take to send its whole hello. */
  helloTimeoutMs: number;
}

/**
 * Off, so a public signal server relays nobody until its operator says so.
 * When on: sessions and timeouts sized for a small VPS; no rate cap or quota
 * until the operator sets one, since only they know their bandwidth bill.
 */
export const DEFAULT_RELAY_LIMITS: RelayLimits = {
  enabled: false,
  maxSessions: 64,
  sessionBytesPerSecond: 0,
  totalBytesPerSecond: 0,
  addressQuotaBytes: 0,
  quotaWindowMs: 24 * 3600_000,
  idleTimeoutMs: 60_000,
  // A peer reaches the relay at about the same moment as the other, once both gave up on UDP.
  pairTimeoutMs: 30_000,
  helloTimeoutMs: 10_000,
};

export interface RelayHooks {
  log?: (message: string) => void;
  /** A session opened (a pair was glued). */
  opened?: () => void;
  /** Bytes forwarded, as they flow. */
  forwarded?: (bytes: number) => void;
  /** A connection was refused, with the status it got. */
  refused?: (status: RelayStatusName) => void;
  now?: Clock;
}

interface Waiting {
  socket: net.Socket;
  address: string;
  timer: NodeJS.Timeout;
}

export class RelayHub {
  private readonly waiting = new Map<string, Waiting>();
  private readonly sessions = new Map<string, RelaySession>();
  private readonly totalGate: ByteGate;
  private readonly quota: AddressQuota;
  private closed = false;

  constructor(
    private readonly limits: RelayLimits,
    private readonly hooks: RelayHooks = {},
  ) {
    this.totalGate = new ByteGate(limits.totalBytesPerSecond, hooks.now);
    this.quota = new AddressQuota(limits.addressQuotaBytes, limits.quotaWindowMs, hooks.now);
  }

  /** Relayed sessions open now, and connections waiting for their partner. */
  counts(): { sessions: number; waiting: number } {
    return { sessions: this.sessions.size, waiting: this.waiting.size };
  }

  /** Serve a connection whose first byte said "relay"; any bytes read to decide that were unshifted. */
  accept(socket: net.Socket): void {
    const address = socket.remoteAddress ?? 'unknown';
    const chunks: Buffer[] = [];
    let have = 0;
    const timer = setTimeout(
      () => refuse('BAD_MESSAGE', 'the relay hello did not arrive in time'),
      this.limits.helloTimeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      have += chunk.length;
      if (have < RELAY_HELLO_BYTES) return;
      stop();
      const all = Buffer.concat(chunks);
      const rest = all.subarray(RELAY_HELLO_BYTES);
      if (rest.length > 0) socket.unshift(rest);
      this.hello(socket, address, all.subarray(0, RELAY_HELLO_BYTES));
    };
    const stop = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
    };
    const refuse = (status: RelayStatusName, reason: string): void => {
      stop();
      this.refuse(socket, status, reason);
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.resume(); // the port's demux paused it
  }

  private hello(socket: net.Socket, address: string, hello: Uint8Array): void {
    let token: string;
    try {
      token = Buffer.from(parseRelayHello(hello)).toString('hex');
    } catch (err) {
      const e = err instanceof PeerlaneError ? err : new PeerlaneError('BAD_MESSAGE', String(err));
      this.refuse(socket, e.code === 'VERSION_MISMATCH' ? 'VERSION_MISMATCH' : 'BAD_MESSAGE', e.message);
      return;
    }
    const why = this.refusal(address, token);
    if (why !== undefined) {
      this.refuse(socket, why.status, why.reason);
      return;
    }
    const partner = this.waiting.get(token);
    if (partner === undefined) {
      this.wait(socket, address, token);
      return;
    }
    this.waiting.delete(token);
    clearTimeout(partner.timer);
    this.open(token, partner, { socket, address });
  }

  /** Why a hello for `token` from `address` cannot be served, if it cannot. */
  private refusal(address: string, token: string): { status: RelayStatusName; reason: string } | undefined {
    if (this.closed || !this.limits.enabled) {
      return { status: 'RELAY_DISABLED', reason: 'this signal server does not relay' };
    }
    if (this.sessions.has(token)) {
      return { status: 'RELAY_TOKEN_TAKEN', reason: 'this pairing already has its two connections' };
    }
    if (!this.quota.allows(address)) {
      return { status: 'RELAY_QUOTA', reason: 'this address has used its relay quota for now' };
    }
    const pending = this.waiting.has(token) ? 0 : 1;
    if (this.sessions.size + this.waiting.size + pending > this.limits.maxSessions) {
      return { status: 'RELAY_BUSY', reason: `the relay is at its ${this.limits.maxSessions} sessions` };
    }
    return undefined;
  }

  private wait(socket: net.Socket, address: string, token: string): void {
    const timer = setTimeout(() => {
      this.waiting.delete(token);
      this.refuse(socket, 'RELAY_NO_PEER', 'the other peer did not reach the relay in time');
    }, this.limits.pairTimeoutMs);
    this.waiting.set(token, { socket, address, timer });
    socket.once('close', () => {
      if (this.waiting.get(token)?.socket !== socket) return;
      clearTimeout(timer);
      this.waiting.delete(token);
    });
  }

  private open(
    token: string,
    a: { socket: net.Socket; address: string },
    b: { socket: net.Socket; address: string },
  ): void {
    const session = new RelaySession(a, b, {
      sessionGate: new ByteGate(this.limits.sessionBytesPerSecond, this.hooks.now),
      totalGate: this.totalGate,
      quota: this.quota,
      idleTimeoutMs: this.limits.idleTimeoutMs,
      forwarded: (n) => this.hooks.forwarded?.(n),
      ended: (reason) => {
        this.sessions.delete(token);
        this.hooks.log?.(`relay session ended: ${reason}`);
      },
    });
    this.sessions.set(token, session);
    this.hooks.opened?.();
    const paired = encodeRelayStatus('PAIRED');
    a.socket.write(paired);
    b.socket.write(paired);
    session.start();
  }

  private refuse(socket: net.Socket, status: RelayStatusName, reason: string): void {
    this.hooks.refused?.(status);
    socket.end(encodeRelayStatus(status, reason));
    // A peer that never reads its refusal must not hold the socket open.
    setTimeout(() => socket.destroy(), REFUSAL_LINGER_MS).unref();
  }

  /** Drop the quota windows that ended (call on the server's sweep timer). */
  sweep(): void {
    this.quota.sweep();
  }

  /** End every relayed session now (the peers reconnect, through the relay if it still serves). */
  endSessions(reason: string): void {
    for (const s of this.sessions.values()) s.end(reason);
  }

  close(): void {
    this.closed = true;
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.socket.destroy();
    }
    this.waiting.clear();
    this.endSessions('the server is closing');
  }
}

/** How long a refused connection may take to read its STATUS before it is cut. */
const REFUSAL_LINGER_MS = 2_000;
