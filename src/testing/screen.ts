/**
 * A small VT100 screen, enough to read what `peer` leaves in a terminal of a
 * given width: printable text with auto-wrap, CR, LF, backspace, cursor moves
 * (CSI A B C D G H), and erasing (CSI J, K). Other escapes are skipped. Each
 * code point takes one column (test names are ASCII).
 *
 * `wrapped` records every row the terminal had to wrap: a line drawn wider
 * than the screen, which a person sees cut in two.
 */
export class Screen {
  private rows: string[][] = [[]];
  private row = 0;
  private col = 0;
  /** Written into the last column: the next character wraps first (xterm's pending wrap). */
  private pendingWrap = false;
  readonly wrapped: string[] = [];
  /** Rows that the terminal wrapped into the next one: parts of one longer line. */
  private continued = new Set<number>();

  constructor(readonly columns: number) {}

  write(data: string): void {
    const chars = [...data];
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i] ?? '';
      if (c === '\u001b') {
        i = this.escape(chars, i);
      } else if (c === '\r') {
        this.col = 0;
        this.pendingWrap = false;
      } else if (c === '\n') {
        this.down();
      } else if (c === '\b') {
        this.col = Math.max(0, this.col - 1);
        this.pendingWrap = false;
      } else if (c >= ' ') {
        this.put(c);
      }
    }
  }

  /** The screen's text, one string per row, trailing spaces trimmed, with the empty rows at the end left out. */
  lines(): string[] {
    const text = this.rows.map((r) => r.join('').trimEnd());
    while (text.length > 0 && text[text.length - 1] === '') text.pop();
    return text;
  }

  /** As lines(), with wrapped rows joined again: the lines as they were written. */
  logicalLines(): string[] {
    const out: string[] = [];
    let joining = false;
    this.lines().forEach((row, i) => {
      if (joining) out[out.length - 1] += row;
      else out.push(row);
      joining = this.continued.has(i);
    });
    return out;
  }

  private put(c: string): void {
    if (this.pendingWrap) {
      this.wrapped.push(this.line(this.row));
      this.continued.add(this.row);
      this.col = 0;
      this.down();
    }
    const cells = this.cells(this.row);
    while (cells.length < this.col) cells.push(' ');
    cells[this.col] = c;
    if (this.col === this.columns - 1) this.pendingWrap = true;
    else this.col++;
  }

  private down(): void {
    this.pendingWrap = false;
    this.row++;
    this.cells(this.row);
  }

  private cells(row: number): string[] {
    while (this.rows.length <= row) this.rows.push([]);
    return this.rows[row] ?? [];
  }

  private line(row: number): string {
    return this.cells(row).join('');
  }

  /** Handle the escape starting at chars[i]; returns the index of its last character. */
  private escape(chars: string[], i: number): number {
    const kind = chars[i + 1];
    if (kind === ']') {
      // OSC: up to BEL or ST.
      let j = i + 2;
      while (j < chars.length && chars[j] !== '\u0007' && !(chars[j] === '\u001b' && chars[j + 1] === '\\'))
        j++;
      return chars[j] === '\u0007' ? j : j + 1;
    }
    if (kind !== '[') return i + 1;
    let j = i + 2;
    let params = '';
    while (j < chars.length && /[0-9;?]/.test(chars[j] ?? '')) params += chars[j++];
    this.csi(params, chars[j] ?? '');
    return j;
  }

  private csi(params: string, final: string): void {
    if (params.startsWith('?')) return;
    const [a, b] = params.split(';').map((p) => (p === '' ? undefined : Number(p)));
    const n = a ?? 1;
    this.pendingWrap = false;
    switch (final) {
      case 'A':
        this.row = Math.max(0, this.row - n);
        break;
      case 'B':
        this.row += n;
        break;
      case 'C':
        this.col = Math.min(this.columns - 1, this.col + n);
        break;
      case 'D':
        this.col = Math.max(0, this.col - n);
        break;
      case 'G':
        this.col = Math.min(this.columns - 1, n - 1);
        break;
      case 'H':
        this.row = n - 1;
        this.col = (b ?? 1) - 1;
        break;
      case 'J':
        if ((a ?? 0) === 0) {
          this.cells(this.row).length = Math.min(this.cells(this.row).length, this.col);
          this.rows.length = this.row + 1;
          for (const r of this.continued) if (r >= this.row) this.continued.delete(r);
        } else if (a === 2) {
          this.rows = [];
          this.continued.clear();
        }
        break;
      case 'K': {
        const cells = this.cells(this.row);
        if ((a ?? 0) === 0) cells.length = Math.min(cells.length, this.col);
        else if (a === 2) cells.length = 0;
        break;
      }
    }
    this.cells(this.row);
  }
}
