/**
 * The events `--json` prints, in order, with progress throttled: a script
 * gets a steady stream it can draw its own bar from, and never a flood.
 */
import type { PeerEvent } from '../core/events.js';

type Progress = Extract<PeerEvent, { event: 'progress' }>;
type FileDone = Extract<PeerEvent, { event: 'file-done' }>;

/** JSON progress events at most this often: enough for a script's own bar, cheap to print. */
const PROGRESS_EVENT_INTERVAL_MS = 200;

export class JsonEvents {
  private lastProgressEvent = 0;
  /** The newest progress event, and whether it was printed (they are throttled). */
  private latest: { event: Progress; printed: boolean } | undefined;

  constructor(private readonly print: (e: PeerEvent) => void) {}

  /** Progress at most every PROGRESS_EVENT_INTERVAL_MS, but each file's last one (at 100%) always, before its file-done. */
  event(e: PeerEvent): void {
    if (e.event === 'progress') {
      const now = Date.now();
      const final = e.total !== null && e.bytes === e.total;
      const due = final || now - this.lastProgressEvent >= PROGRESS_EVENT_INTERVAL_MS;
      this.latest = { event: e, printed: due };
      if (due) {
        this.lastProgressEvent = now;
        this.print(e);
      }
      return;
    }
    if (e.event === 'file-done') this.finalProgress(e);
    this.print(e);
  }

  private finalProgress(e: FileDone): void {
    const latest = this.latest;
    if (latest === undefined) return;
    const last = latest.event;
    if (last.file === e.name && last.fileBytes === e.bytes) {
      if (!latest.printed) this.print(last);
    } else {
      // No progress at 100% for this file (nothing had to move): say so anyway.
      const grown = Math.max(0, e.bytes - (last.file === e.name ? last.fileBytes : 0));
      this.print({ ...last, file: e.name, fileBytes: e.bytes, fileSize: e.bytes, bytes: last.bytes + grown });
    }
    this.latest = { event: last, printed: true };
  }
}
