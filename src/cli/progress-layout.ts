/**
 * The progress lines, laid out to the terminal's width. Pure functions: what
 * is on each line is decided here, drawing it is live-region.ts's job.
 *
 *   ██████████░░░░░░░░░░   52%  52.0 MB / 100.0 MB  photos/img1.raw
 *   ████░░░░░░░░░░░░░░░░   21%  52.0 MB / 250.0 MB  total    8.1 MB/s  ETA 0:23
 *
 * Every figure has a fixed width, so the bars and the names line up and
 * nothing moves as the numbers change. Space is given up in this order: the
 * bar (shrunk, then dropped), then the middle of a long name. The figures,
 * the rate and the ETA are never cut, and no line reaches the last column (a
 * terminal would wrap it, and the next redraw would land one line off).
 */
import { formatBytes } from '../core/format.js';
import { columnsOf, padEndColumns, truncateEnd, truncateMiddle } from './terminal-text.js';

export interface BarLine {
  /** Already terminal-safe: a file name, or 'total'. */
  label: string;
  bytes: number;
  /** null: a stream of unknown length. */
  size: number | null;
  /** After the label: the rate and ETA on the total line, '(resumed)' on a file's. */
  note?: string;
}

/** A bar wider than this tells nothing more; the rest goes to the name. */
const MAX_BAR = 30;
/** A narrower bar is too coarse to read: below it, no bar at all. */
const MIN_BAR = 8;
/** Indent, and the gap between fields. */
const INDENT = '  ';
const GAP = '  ';
/** "100% 999.9 MB / 999.9 MB": the widest figures formatBytes gives below a petabyte. */
const BYTES_WIDTH = 8;
const FIGURES_WIDTH = 4 + 1 + BYTES_WIDTH * 2 + 3;
/** "999.9 MB/s" */
const RATE_WIDTH = BYTES_WIDTH + 2;
/** Up to 9:59:59; a longer wait shows as '>10h', which is all a person needs to know. */
const ETA_WIDTH = 'ETA 9:59:59'.length;
const LONGEST_ETA_SECONDS = 10 * 3600;
const TOTAL_NOTE_WIDTH = RATE_WIDTH + GAP.length + ETA_WIDTH;
const TOTAL_LABEL = 'total';

/** The bar's width at `columns`: what the total line leaves, at most MAX_BAR, none below MIN_BAR. */
export function barWidth(columns: number): number {
  const usable = columns - 1;
  const totalLine = INDENT.length + FIGURES_WIDTH + GAP.length + TOTAL_LABEL.length + GAP.length;
  const room = usable - totalLine - TOTAL_NOTE_WIDTH - GAP.length;
  const width = Math.min(MAX_BAR, room);
  return width >= MIN_BAR ? width : 0;
}

function bar(width: number, bytes: number, size: number | null): string {
  if (width === 0) return '';
  if (size === null) return `${' '.repeat(width)}${GAP}`;
  const filled = size === 0 ? width : Math.min(width, Math.floor((bytes / size) * width));
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}${GAP}`;
}

function figures(bytes: number, size: number | null): string {
  const done = formatBytes(bytes).padStart(BYTES_WIDTH);
  if (size === null) return `${'    '} ${done}${' '.repeat(BYTES_WIDTH + 3)}`;
  const pct = size === 0 ? 100 : Math.min(100, Math.floor((bytes / size) * 100));
  return `${`${pct}%`.padStart(4)} ${done} / ${formatBytes(size).padStart(BYTES_WIDTH)}`;
}

/** One line per file in flight, in the order given, then the total: each within `columns`. */
export function layoutBars(lines: readonly BarLine[], columns: number): string[] {
  const width = barWidth(columns);
  const usable = columns - 1;
  return lines.map((line) => {
    const head = `${INDENT}${bar(width, line.bytes, line.size)}${figures(line.bytes, line.size)}${GAP}`;
    const note = line.note === undefined ? '' : `${GAP}${line.note}`;
    const room = usable - head.length - note.length;
    const text = `${head}${truncateMiddle(line.label, Math.max(room, 1))}${note}`.trimEnd();
    // Narrower than the figures need (under 60 columns): cut the end rather than wrap.
    return columnsOf(text) > usable ? truncateEnd(text, usable) : text;
  });
}

/** `seconds` as m:ss or h:mm:ss; '--:--' while unknown. */
export function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.ceil(seconds);
  if (s >= LONGEST_ETA_SECONDS) return '>10h';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The total line's note: rate and ETA in fixed widths, so the line never shifts. */
export function totalNote(rate: number | undefined, eta: number | undefined): string {
  const shown = rate === undefined ? '' : `${formatBytes(rate)}/s`;
  return `${shown.padStart(RATE_WIDTH)}${GAP}${padEndColumns(`ETA ${formatEta(eta)}`, ETA_WIDTH)}`;
}

export const TOTAL = TOTAL_LABEL;
