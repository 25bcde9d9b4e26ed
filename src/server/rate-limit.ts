/**
 * Per-address accounting for the signal server: how many sockets each remote
 * address holds open, and a token bucket that pays for its registers and joins.
 *
 * Memory stays bounded. An address is forgotten as soon as it holds no socket
 * and its bucket has refilled, since such an address is indistinguishable from
 * one never seen; `sweep()` does that for buckets (the server calls it on a
 * timer), and past `maxTracked` buckets the least recently used is dropped,
 * which can only forgive an address, never punish one.
 */

export interface AddressLimiterOptions extends BucketRate {
  /** Sockets one address may hold open at once. */
  maxConnections: number;
  /** Buckets kept at most; the least recently used goes first. */
  maxTracked?: number;
  /** Milliseconds, for tests; defaults to a monotonic clock. */
  now?: () => number;
}

export interface BucketRate {
  /** Tokens the bucket regains per minute. */
  ratePerMinute: number;
  /** Tokens it holds when full, and so the largest burst allowed. */
  burst: number;
}

/** The clock buckets refill by unless given one: monotonic, so a wall-clock step neither fills nor drains them. */
export const monotonic = (): number => performance.now();

/** A token bucket: starts full, regains `ratePerMinute` tokens a minute, holds at most `burst`. */
export class TokenBucket {
  private tokens: number;
  /** When `tokens` was last brought up to date. */
  private at: number;
  private readonly perMs: number;

  constructor(
    private readonly rate: BucketRate,
    private readonly now: () => number = monotonic,
  ) {
    this.tokens = rate.burst;
    this.at = now();
    this.perMs = rate.ratePerMinute / 60_000;
  }

  /** Spend one token; false if there is none. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Whether it has refilled, and so behaves like a new bucket. */
  get full(): boolean {
    this.refill();
    return this.tokens >= this.rate.burst;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + (now - this.at) * this.perMs);
    this.at = now;
  }
}

const DEFAULT_MAX_TRACKED = 100_000;

export class AddressLimiter {
  private readonly connections = new Map<string, number>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly maxTracked: number;
  private readonly now: () => number;

  constructor(private readonly options: AddressLimiterOptions) {
    this.maxTracked = options.maxTracked ?? DEFAULT_MAX_TRACKED;
    this.now = options.now ?? monotonic;
  }

  /**
   * Count a new socket from `address`. Returns false if that puts the address
   * over its cap; the socket is counted all the same, until `disconnect`.
   */
  connect(address: string): boolean {
    const count = (this.connections.get(address) ?? 0) + 1;
    this.connections.set(address, count);
    return count <= this.options.maxConnections;
  }

  disconnect(address: string): void {
    const count = (this.connections.get(address) ?? 0) - 1;
    if (count > 0) this.connections.set(address, count);
    else this.connections.delete(address);
  }

  /** Spend one of `address`'s tokens; false if it has none left. */
  take(address: string): boolean {
    let bucket = this.buckets.get(address);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxTracked) this.evict();
      bucket = new TokenBucket(this.options, this.now);
    } else {
      // Re-insert, so the map's order is least recently used first.
      this.buckets.delete(address);
    }
    this.buckets.set(address, bucket);
    return bucket.take();
  }

  /** Forget every bucket that has refilled: it would behave exactly like a new one. */
  sweep(): void {
    for (const [address, bucket] of this.buckets) {
      if (bucket.full) this.buckets.delete(address);
    }
  }

  /** Addresses holding sockets, their sockets, and buckets remembered. */
  get size(): { addresses: number; connections: number; buckets: number } {
    let connections = 0;
    for (const count of this.connections.values()) connections += count;
    return { addresses: this.connections.size, connections, buckets: this.buckets.size };
  }

  /** O(1), so that a flood of new addresses cannot make each one expensive. */
  private evict(): void {
    for (const address of this.buckets.keys()) {
      if (this.buckets.size < this.maxTracked) return;
      this.buckets.delete(address);
    }
  }
}
