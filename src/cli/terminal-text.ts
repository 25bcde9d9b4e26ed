/**
 * Text that came from the network, made safe for a terminal, and measured in
 * the columns it takes there.
 *
 * A peer's `--text`, its ERROR message, the signal server's error message and
 * received file names may hold escape sequences (title changes, clear screen,
 * OSC 52 clipboard writes) or bidi controls that reorder what a person reads.
 * Every such character is shown as a visible `\uXXXX` instead.
 */

/**
 * Controls (C0, DEL, C1), format characters (bidi embeddings, overrides and
 * isolates, the Arabic letter mark, zero-width space …) and the line and
 * paragraph separators. ZWJ and ZWNJ are spared: emoji sequences and Persian
 * words need them, and they move nothing.
 */
const UNSAFE = /(?!\u200c|\u200d)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;
/** The same, sparing line feeds and tabs: a multi-line `--text` keeps its lines. */
const UNSAFE_IN_TEXT = /(?!\u200c|\u200d|\n|\t)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** One character as a visible escape: `\u001b`, or `\u{e0001}` beyond the BMP. */
export function escapeChar(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
}

/** A line for a person: every control, line break and bidi character escaped. */
export function terminalSafe(line: string): string {
  return line.replace(UNSAFE, escapeChar);
}

/** A message of several lines (`--text` shown in a terminal): as terminalSafe, keeping \n and \t. */
export function terminalSafeText(text: string): string {
  return text.replace(UNSAFE_IN_TEXT, escapeChar);
}

/**
 * JSON as JSON.stringify writes it, with what it leaves raw (DEL, C1 controls,
 * bidi and other format characters, U+2028/2029) escaped too: the same value
 * for a parser, harmless when a person runs `--json` in a terminal.
 */
export function jsonSafe(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, escapeChar);
}

/** Code points a terminal draws two columns wide (East Asian wide and fullwidth, most emoji). */
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;
/** Code points that take no column of their own: combining marks, format characters. */
const ZERO = /[\p{Mn}\p{Me}\p{Cf}]/u;

/** Columns `s` takes in a terminal (after terminalSafe: no controls left to count). */
export function columnsOf(s: string): number {
  let n = 0;
  for (const c of s) n += ZERO.test(c) ? 0 : WIDE.test(c) ? 2 : 1;
  return n;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * `s` in at most `width` columns: as is if it fits, else its start and end
 * around an ellipsis, so both a folder and an extension stay readable. Cut
 * between graphemes, never inside one.
 */
export function truncateMiddle(s: string, width: number): string {
  if (columnsOf(s) <= width) return s;
  if (width <= 1) return width === 1 ? '…' : '';
  const parts = [...graphemes.segment(s)].map((g) => g.segment);
  let room = width - 1;
  const headRoom = Math.ceil(room / 2);
  let head = '';
  let i = 0;
  for (; i < parts.length; i++) {
    const w = columnsOf(parts[i] ?? '');
    if (w > headRoom - columnsOf(head)) break;
    head += parts[i];
  }
  room -= columnsOf(head);
  let tail = '';
  for (let j = parts.length - 1; j >= i; j--) {
    const w = columnsOf(parts[j] ?? '');
    if (w > room - columnsOf(tail)) break;
    tail = parts[j] + tail;
  }
  return `${head}…${tail}`;
}

/** `s` cut to at most `width` columns at its end. */
export function truncateEnd(s: string, width: number): string {
  let out = '';
  for (const { segment } of graphemes.segment(s)) {
    if (columnsOf(out + segment) > width) break;
    out += segment;
  }
  return out;
}

/** `s` padded with spaces to `width` columns (wide characters counted as two). */
export function padEndColumns(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - columnsOf(s)));
}
