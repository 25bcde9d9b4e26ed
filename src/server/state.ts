/**
 * What signal servers share: who waits under which nameplate, the one-guess
 * rule, the register/join token buckets, and delivery of messages to a client
 * held by another instance. `MemoryState` is one instance on its own (the
 * default); `RedisState` (redis-state.ts) lets several instances behind DNS or
 * a load balancer act as one server.
 *
 * A client anywhere is named by its instance's id and its number there.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { PeerlaneError } from '../core/errors.js';
import type { Directory } from './directory.js';
import { MemoryDirectory } from './directory.js';
import type { Envelope } from './envelope.js';
import { AddressLimiter } from './rate-limit.js';

export interface ClientRef {
  instance: string;
  client: number;
}

/**
 * Who waits under a nameplate, and the token that lets it claim the nameplate
 * back after a reconnect. Without shared state no token is ever sent, so a
 * waiter has one only if a name (directory.ts) needs it to tell waiters apart.
 */
export interface Waiter extends ClientRef {
  resume?: string | undefined;
}

export interface BucketSpec {
  ratePerMinute: number;
  burst: number;
}

/** Who pays for a register or join: one token of its address's bucket. */
export interface Payer {
  address: string;
  bucket: BucketSpec;
}

export function rateLimited(): PeerlaneError {
  return new PeerlaneError('RATE_LIMITED', 'too many registers or joins from this address');
}

export interface SignalState {
  /** This instance's id, unique among the instances sharing the state. */
  readonly instance: string;
  /** Whether a waiter can outlive its connection (and so whether to hand out reclaim tokens). */
  readonly shared: boolean;
  /** Receivers reachable by name, in the same store (directory.ts). */
  readonly directory: Directory;
  /**
   * Reserve a fresh nameplate for `waiter` until `ttlMs` passes. With `payer`,
   * spend one of its tokens first, in the same step (one round trip to
   * Redis); throws RATE_LIMITED, and reserves nothing, if none is left.
   */
  allocate(waiter: Waiter, ttlMs: number, payer?: Payer): Promise<string>;
  /**
   * Take the waiter of `nameplate` and forget the nameplate, atomically: one
   * pairing per nameplate, whichever instance the joiner reached. With
   * `resume`, only if the waiter is the one with that token (a join by name).
   * With `payer`, as allocate: paid for first, and nothing taken if it cannot pay.
   */
  claim(nameplate: string, resume?: string, payer?: Payer): Promise<Waiter | undefined>;
  /** Forget `nameplate` if `waiter` still holds it. */
  release(nameplate: string, waiter: ClientRef): Promise<void>;
  /**
   * Move `nameplate` to `to` if `resume` is its token; resolves with the
   * milliseconds its TTL has left, or undefined if it is gone or the token is wrong.
   */
  reclaim(nameplate: string, resume: string, to: ClientRef): Promise<number | undefined>;
  /** Spend one register/join token of `address`; false if none is left. */
  take(address: string, bucket: BucketSpec): Promise<boolean>;
  /** Deliver to a client of another instance, in order per sender; resolves once sent on. */
  publish(instance: string, envelope: Envelope): Promise<void>;
  /** Where envelopes for this instance arrive. */
  onEnvelope(handler: (envelope: Envelope) => void): void;
  /** Throws if the shared store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A random 128-bit reclaim token. */
export function newResumeToken(): string {
  return randomBytes(16).toString('base64url');
}

export function newInstanceId(): string {
  return randomBytes(8).toString('hex');
}

/** One instance alone: today's behaviour, all in this process. */
export class MemoryState implements SignalState {
  readonly instance = newInstanceId();
  readonly shared = false;
  private readonly waiting = new Map<string, { waiter: Waiter; expires: number }>();
  readonly directory = new MemoryDirectory((nameplate, resume) => {
    const entry = this.waiting.get(nameplate);
    return entry !== undefined && entry.waiter.resume === resume && entry.expires > Date.now();
  });
  private handler: ((envelope: Envelope) => void) | undefined;
  private buckets: AddressLimiter | undefined;

  /** `limiter`: the server's own, so that its accounting shows the buckets. */
  constructor(private readonly limiter?: AddressLimiter) {}

  async allocate(waiter: Waiter, ttlMs: number, payer?: Payer): Promise<string> {
    await this.pay(payer);
    // Random within the smallest power of ten at most half full: short while
    // few receivers wait, never a long search.
    let range = 100;
    while (this.waiting.size * 2 >= range) range *= 10;
    for (;;) {
      const nameplate = String(randomInt(1, range));
      if (this.waiting.has(nameplate)) continue;
      this.waiting.set(nameplate, { waiter, expires: Date.now() + ttlMs });
      return nameplate;
    }
  }

  async claim(nameplate: string, resume?: string, payer?: Payer): Promise<Waiter | undefined> {
    await this.pay(payer);
    const entry = this.waiting.get(nameplate);
    if (resume !== undefined && entry?.waiter.resume !== resume) return undefined;
    this.waiting.delete(nameplate);
    return entry !== undefined && entry.expires > Date.now() ? entry.waiter : undefined;
  }

  async release(nameplate: string, waiter: ClientRef): Promise<void> {
    const entry = this.waiting.get(nameplate);
    if (entry !== undefined && sameClient(entry.waiter, waiter)) this.waiting.delete(nameplate);
  }

  async reclaim(nameplate: string, resume: string, to: ClientRef): Promise<number | undefined> {
    const entry = this.waiting.get(nameplate);
    const left = entry === undefined ? 0 : entry.expires - Date.now();
    if (entry === undefined || entry.waiter.resume !== resume || left <= 0) return undefined;
    entry.waiter = { ...to, resume };
    return left;
  }

  async take(address: string, bucket: BucketSpec): Promise<boolean> {
    this.buckets ??=
      this.limiter ?? new AddressLimiter({ maxConnections: Number.POSITIVE_INFINITY, ...bucket });
    return this.buckets.take(address);
  }

  private async pay(payer: Payer | undefined): Promise<void> {
    if (payer !== undefined && !(await this.take(payer.address, payer.bucket))) throw rateLimited();
  }

  async publish(instance: string, envelope: Envelope): Promise<void> {
    if (instance === this.instance) this.handler?.(envelope);
  }

  onEnvelope(handler: (envelope: Envelope) => void): void {
    this.handler = handler;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.waiting.clear();
  }

  get size(): number {
    return this.waiting.size;
  }
}

export function sameClient(a: ClientRef, b: ClientRef): boolean {
  return a.instance === b.instance && a.client === b.client;
}
