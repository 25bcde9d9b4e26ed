/** The VT100 screen the terminal tests read: it must see what a terminal shows. */
import { describe, expect, it } from 'vitest';
import { Screen } from '../../src/testing/screen.js';

describe('Screen', () => {
  it('wraps a line wider than the screen, and reports it', () => {
    const s = new Screen(10);
    s.write('0123456789abc\r\nnext\r\n');
    expect(s.lines()).toEqual(['0123456789', 'abc', 'next']);
    expect(s.logicalLines()).toEqual(['0123456789abc', 'next']);
    expect(s.wrapped).toEqual(['0123456789']);
  });

  it('does not wrap a line that only fills the last column', () => {
    const s = new Screen(10);
    s.write('0123456789\r\nnext');
    expect(s.lines()).toEqual(['0123456789', 'next']);
    expect(s.wrapped).toEqual([]);
  });

  it('redraws in place: cursor up, clear to the end of the screen', () => {
    const s = new Screen(20);
    s.write('log\r\nbar 1\r\ntotal 1\r\n');
    s.write('\r\u001b[2A\u001b[0Jdone\r\nbar 2\r\ntotal 2\r\n');
    expect(s.lines()).toEqual(['log', 'done', 'bar 2', 'total 2']);
  });

  it('erases a line and skips escapes it does not draw', () => {
    const s = new Screen(20);
    s.write('\u001b]0;title\u0007\u001b[?25lhello\u001b[1G\u001b[2Kbye\u001b[31m!');
    expect(s.lines()).toEqual(['bye!']);
  });
});
