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

export interface AddressLimiterOptions {
  /** Sockets one address may hold open at once. */
  maxConnections: number;
  /** Tokens a bucket regains per minute. */
  ratePerMinute: number;
  /** Tokens a bucket holds when full, and so the largest burst allowed. */
  burst: number;
  /** Buckets kept at most; the least recently used goes first. */
  maxTracked?: number;
  /** Milliseconds, for tests; defaults to a monotonic clock. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
}

const DEFAULT_MAX_TRACKED = 100_000;

export class AddressLimiter {
  private readonly connections = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;

  constructor(private readonly options: AddressLimiterOptions) {
    this.perMs = options.ratePerMinute / 60_000;
    this.maxTracked = options.maxTracked ?? DEFAULT_MAX_TRACKED;
    this.now = options.now ?? (() => performance.now());
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
    const now = this.now();
    let bucket = this.buckets.get(address);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxTracked) this.evict();
      bucket = { tokens: this.options.burst, at: now };
    } else {
      this.refill(bucket, now);
      // Re-insert, so the map's order is least recently used first.
      this.buckets.delete(address);
    }
    this.buckets.set(address, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Forget every bucket that has refilled: it would behave exactly like a new one. */
  sweep(): void {
    const now = this.now();
    for (const [address, bucket] of this.buckets) {
      this.refill(bucket, now);
      if (bucket.tokens >= this.options.burst) this.buckets.delete(address);
    }
  }

  /** Addresses holding sockets, their sockets, and buckets remembered. */
  get size(): { addresses: number; connections: number; buckets: number } {
    let connections = 0;
    for (const count of this.connections.values()) connections += count;
    return { addresses: this.connections.size, connections, buckets: this.buckets.size };
  }

  private refill(bucket: Bucket, now: number): void {
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + (now - bucket.at) * this.perMs);
    bucket.at = now;
  }

  /** O(1), so that a flood of new addresses cannot make each one expensive. */
  private evict(): void {
    for (const address of this.buckets.keys()) {
      if (this.buckets.size < this.maxTracked) return;
      this.buckets.delete(address);
    }
  }
}
