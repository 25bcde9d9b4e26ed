/**
 * A few lines kept at the bottom of a terminal and redrawn in place (the
 * progress bars), with ordinary lines printed above them as they come.
 *
 * Each frame moves the cursor up over the lines it drew last time, clears to
 * the end of the screen, prints the pending lines and then the region again.
 * That count is only right if no region line ever wraps, which is why the
 * layout keeps every line short of the terminal's width.
 */

/** Redraws per second: smooth to the eye, cheap for a terminal over ssh. */
const FRAMES_PER_SECOND = 10;

const CSI = '\u001b[';

export class LiveRegion {
  private drawn = 0;
  private pending: string[] = [];
  private last = '';
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  /** `lines` is asked for the region's lines at each frame. */
  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly lines: () => string[],
  ) {
    this.timer = setInterval(() => this.draw(), 1000 / FRAMES_PER_SECOND);
    this.timer.unref();
  }

  /** A line above the region, shown at once. */
  log(line: string): void {
    this.pending.push(line);
    this.draw();
  }

  /**
   * Let `write` print to another stream on the same terminal (stdout, with
   * --json --progress): the region steps aside first and is drawn again below.
   */
  above(write: () => void): void {
    if (this.stopped) {
      write();
      return;
    }
    this.frame([]);
    write();
    this.last = '';
    this.draw();
  }

  /** Draw now (a small file may be done before the next frame). */
  draw(): void {
    if (this.stopped) return;
    this.frame(this.lines());
  }

  /** Remove the region, leaving the printed lines; later writes go below them. */
  stop(): void {
    if (this.stopped) return;
    clearInterval(this.timer);
    this.frame([]);
    this.stopped = true;
  }

  private frame(lines: string[]): void {
    const body = [...this.pending, ...lines].map((l) => `${l}\n`).join('');
    if (this.pending.length === 0 && body === this.last) return;
    this.pending = [];
    this.last = lines.map((l) => `${l}\n`).join('');
    const up = this.drawn > 0 ? `${CSI}${this.drawn}A` : '';
    this.stream.write(`\r${up}${CSI}0J${body}`);
    this.drawn = lines.length;
  }
}
