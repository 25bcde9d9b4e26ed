/**
 * What signal servers share: who waits under which nameplate, the one-guess
 * rule, the register/join token buckets, and delivery of messages to a client
 * held by another instance. `MemoryState` is one instance on its own (the
 * default); `RedisState` (redis-state.ts) lets several instances behind DNS or
 * a load balancer act as one server. The interface they implement,
 * SignalState, and the shapes it deals in are in types.ts.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { PeerlaneError } from '../core/errors.js';
import { MemoryDirectory } from './directory.js';
import { AddressLimiter } from './rate-limit.js';
import { MemorySwarmBook } from './swarm-book.js';
import type { BucketSpec, ClientRef, Envelope, Payer, SignalState, Waiter } from './types.js';

export function rateLimited(): PeerlaneError {
  return new PeerlaneError('RATE_LIMITED', 'too many registers or joins from this address');
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
  readonly directory: MemoryDirectory;
  readonly swarms = new MemorySwarmBook();
  private handler: ((envelope: Envelope) => void) | undefined;
  private buckets: AddressLimiter | undefined;

  /**
   * `limiter`: the server's own, so that its accounting shows the buckets.
   * `now`: milliseconds, what nameplates expire by (the server's clock, so that tests can move it).
   */
  constructor(
    private readonly limiter?: AddressLimiter,
    private readonly now: () => number = Date.now,
  ) {
    const held = (nameplate: string, resume: string): boolean => {
      const entry = this.waiting.get(nameplate);
      return entry !== undefined && entry.waiter.resume === resume && entry.expires > this.now();
    };
    this.directory = new MemoryDirectory(held, now);
  }

  async allocate(waiter: Waiter, ttlMs: number, payer?: Payer): Promise<string> {
    await this.pay(payer);
    // Random within the smallest power of ten at most half full: short while
    // few receivers wait, never a long search.
    let range = 100;
    while (this.waiting.size * 2 >= range) range *= 10;
    for (;;) {
      const nameplate = String(randomInt(1, range));
      if (this.waiting.has(nameplate)) continue;
      this.waiting.set(nameplate, { waiter, expires: this.now() + ttlMs });
      return nameplate;
    }
  }

  async claim(nameplate: string, resume?: string, payer?: Payer): Promise<Waiter | undefined> {
    await this.pay(payer);
    const entry = this.waiting.get(nameplate);
    if (resume !== undefined && entry?.waiter.resume !== resume) return undefined;
    this.waiting.delete(nameplate);
    return entry !== undefined && entry.expires > this.now() ? entry.waiter : undefined;
  }

  async release(nameplate: string, waiter: ClientRef): Promise<void> {
    const entry = this.waiting.get(nameplate);
    if (entry !== undefined && sameClient(entry.waiter, waiter)) this.waiting.delete(nameplate);
  }

  async reclaim(nameplate: string, resume: string, to: ClientRef): Promise<number | undefined> {
    const entry = this.waiting.get(nameplate);
    const left = entry === undefined ? 0 : entry.expires - this.now();
    if (entry === undefined || entry.waiter.resume !== resume || left <= 0) return undefined;
    entry.waiter = { ...to, resume };
    return left;
  }

  async take(address: string, bucket: BucketSpec): Promise<boolean> {
    this.buckets ??=
      this.limiter ??
      new AddressLimiter({ maxConnections: Number.POSITIVE_INFINITY, ...bucket, now: this.now });
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

function sameClient(a: ClientRef, b: ClientRef): boolean {
  return a.instance === b.instance && a.client === b.client;
}
