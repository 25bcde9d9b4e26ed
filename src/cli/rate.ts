/**
 * The transfer rate a person is shown, and the ETA that follows from it.
 *
 * Only bytes that crossed the data channel in this run count: a resumed file
 * starts at 60% without anything having moved, and counting that would start
 * the rate at hundreds of MB/s. The rate is an exponentially weighted average,
 * so one slow or fast moment does not make the ETA jump (2 s, 1 s, 4 s).
 */

/** How long the average remembers: a change in speed shows fully after a few of these. */
const SMOOTHING_SECONDS = 3;
/** Before this much time has passed, the plain average since the first byte is steadier. */
const WARMUP_MS = 1_000;

export class RateMeter {
  private first: { at: number; moved: number } | undefined;
  private last: { at: number; moved: number } | undefined;
  private smoothed: number | undefined;

  /** `moved`: bytes moved this run, at time `at` (ms). */
  sample(at: number, moved: number): void {
    if (this.first === undefined || this.last === undefined) {
      this.first = { at, moved };
      this.last = { at, moved };
      return;
    }
    const dt = (at - this.last.at) / 1000;
    if (dt <= 0) return;
    if (at - this.first.at < WARMUP_MS) {
      this.smoothed = (moved - this.first.moved) / ((at - this.first.at) / 1000);
    } else {
      const now = (moved - this.last.moved) / dt;
      const weight = 1 - Math.exp(-dt / SMOOTHING_SECONDS);
      this.smoothed = this.smoothed === undefined ? now : this.smoothed + weight * (now - this.smoothed);
    }
    this.last = { at, moved };
  }

  /** Bytes per second; undefined until two samples have been taken. */
  get rate(): number | undefined {
    return this.smoothed;
  }

  /** Seconds until `remaining` more bytes have moved at the current rate; undefined while unknown. */
  eta(remaining: number): number | undefined {
    if (remaining <= 0) return 0;
    const rate = this.smoothed;
    return rate === undefined || rate <= 0 ? undefined : remaining / rate;
  }
}
