/**
 * The progress bars of one run: a line per file in flight, in the order the
 * files started, and the total line always last. Fed by Output; drawn by a
 * LiveRegion at the terminal's current width.
 */
import type { PeerEvent } from '../core/events.js';
import { displayName } from './consent.js';
import { LiveRegion } from './live-region.js';
import type { BarLine } from './progress-layout.js';
import { layoutBars, TOTAL, totalNote } from './progress-layout.js';
import { RateMeter } from './rate.js';

type Progress = Extract<PeerEvent, { event: 'progress' }>;

/** Columns assumed when the terminal does not say. */
const DEFAULT_COLUMNS = 80;

interface FileBar {
  label: string;
  bytes: number;
  size: number | null;
  /** Bytes moved this run when the file started: what it has beyond that was already there. */
  movedAtStart: number;
  resumed: boolean;
}

export class ProgressView {
  private readonly files = new Map<string, FileBar>();
  private totals: { bytes: number; total: number | null } | undefined;
  private moved = 0;
  private readonly meter = new RateMeter();
  private region: LiveRegion | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  fileStart(name: string, size: number | null): void {
    this.files.set(name, {
      label: displayName(name),
      bytes: 0,
      size,
      movedAtStart: this.moved,
      resumed: false,
    });
    this.live().draw();
  }

  progress(e: Progress): void {
    if (this.totals === undefined) this.meter.sample(Date.now(), e.moved);
    this.moved = e.moved;
    this.totals = { bytes: e.bytes, total: e.total };
    const file = this.files.get(e.file);
    if (file !== undefined) {
      file.bytes = e.fileBytes;
      // More bytes than moved since it started: the rest was on the receiver's disk.
      if (e.fileBytes > e.moved - file.movedAtStart) file.resumed = true;
    }
    this.live();
  }

  /** The file's bar goes; `line` takes its place above the bars. */
  fileDone(name: string, line: string): void {
    this.files.delete(name);
    this.live().log(line);
  }

  /** A line above the bars. */
  log(line: string): void {
    this.live().log(line);
  }

  /** Print with `write` on another stream to the same terminal, above the bars. */
  above(write: () => void): void {
    if (this.region === undefined) write();
    else this.region.above(write);
  }

  /** Take the bars off the screen, leaving every line printed above them. */
  stop(): void {
    this.region?.stop();
    this.region = undefined;
  }

  private live(): LiveRegion {
    this.region ??= new LiveRegion(this.stream, () => this.lines());
    return this.region;
  }

  private lines(): string[] {
    this.meter.sample(Date.now(), this.moved);
    const lines: BarLine[] = [...this.files.values()].map((f) => ({
      label: f.label,
      bytes: f.bytes,
      size: f.size,
      ...(f.resumed ? { note: '(resumed)' } : {}),
    }));
    const t = this.totals;
    if (t !== undefined) {
      const remaining = t.total === null ? undefined : t.total - t.bytes;
      const eta = remaining === undefined ? undefined : this.meter.eta(remaining);
      lines.push({ label: TOTAL, bytes: t.bytes, size: t.total, note: totalNote(this.meter.rate, eta) });
    }
    return layoutBars(lines, this.stream.columns || DEFAULT_COLUMNS);
  }
}
