/**
 * Byte accounting for the relay: a rate gate (a token bucket counted in
 * bytes, that may go into debt and says how long to wait it off) and a
 * per-address quota over a fixed window. Both read an injected clock, so
 * tests move time instead of sleeping.
 */

/** Milliseconds; monotonic by default, so a wall-clock step neither grants nor takes bytes. */
export type Clock = () => number;
const monotonic: Clock = () => performance.now();

/**
 * The burst a gate allows: a quarter second at its rate, but never under
 * one largest sealed record (256 KiB plus framing), so a slow cap still lets
 * whole records through instead of stalling mid-record forever.
 */
const MIN_BURST_BYTES = 256 * 1024 + 64;
const BURST_SECONDS = 0.25;

/** A bytes-per-second cap. `take(n)` always succeeds and answers how long to pause to pay for it. */
export class ByteGate {
  private tokens: number;
  private at: number;
  private readonly burst: number;

  constructor(
    private readonly bytesPerSecond: number,
    private readonly now: Clock = monotonic,
  ) {
    this.burst = Math.max(MIN_BURST_BYTES, bytesPerSecond * BURST_SECONDS);
    this.tokens = this.burst;
    this.at = now();
  }

  /** Spend `bytes`; the milliseconds to wait before more may flow (0: none). No cap (rate 0) never waits. */
  take(bytes: number): number {
    if (this.bytesPerSecond <= 0) return 0;
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.bytesPerSecond) / 1000);
    this.at = now;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.bytesPerSecond);
  }
}

/**
 * Bytes each address may send through the relay per window. Windows are
 * fixed, per address, starting at its first byte; an address is forgotten
 * when its window ends, so memory follows the addresses active in one window.
 */
export class AddressQuota {
  private readonly used = new Map<string, { bytes: number; since: number }>();

  constructor(
    private readonly quotaBytes: number,
    private readonly windowMs: number,
    private readonly now: Clock = monotonic,
  ) {}

  /** Count `bytes` from `address`; false once it is past its quota (no quota: always true). */
  spend(address: string, bytes: number): boolean {
    if (this.quotaBytes <= 0) return true;
    const entry = this.current(address);
    entry.bytes += bytes;
    return entry.bytes <= this.quotaBytes;
  }

  /** Whether `address` may start a relayed session now. */
  allows(address: string): boolean {
    return this.quotaBytes <= 0 || this.current(address).bytes < this.quotaBytes;
  }

  private current(address: string): { bytes: number; since: number } {
    const now = this.now();
    let entry = this.used.get(address);
    if (entry === undefined || now - entry.since >= this.windowMs) {
      entry = { bytes: 0, since: now };
      this.used.set(address, entry);
    }
    return entry;
  }

  /** Drop addresses whose window has ended (the server calls it on a timer). */
  sweep(): void {
    const now = this.now();
    for (const [address, entry] of this.used)
      if (now - entry.since >= this.windowMs) this.used.delete(address);
  }
}
