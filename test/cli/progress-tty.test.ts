/**
 * The progress bars as a person sees them: the sender runs in a real
 * pseudo-terminal (util-linux `script`) of 60, 80 and 160 columns, and what it
 * drew is replayed on a VT100 screen of that width.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeRandomFile } from '../../src/testing/files.js';
import type { SignalHandle } from '../../src/testing/harness.js';
import { Harness } from '../../src/testing/harness.js';
import { Screen } from '../../src/testing/screen.js';
import { peerInTerminal } from '../../src/testing/terminal.js';

const h = new Harness();
let server: SignalHandle;
beforeAll(async () => {
  server = await h.signalServer();
});
afterAll(() => h.cleanup());

/** Far longer than any terminal here is wide: its middle must go. */
const LONG_NAME = `${'a-very-long-folder-name-'.repeat(5)}and-finally-the-end.bin`;

/** Each frame's lines: what the live region drew after clearing (CSI 0 J) the last one. */
function frames(raw: string): string[][] {
  return raw
    .split('\u001b[0J')
    .slice(1)
    .map((f) => (f.split('\r\u001b[')[0] ?? '').split(/\r?\n/).filter((l) => l.trim() !== ''));
}

const BAR_LINE = /\d+% +[\d.]+ k?M?B \/ +[\d.]+ k?M?B/;

/** Send the files from `src` with the sender in a terminal of `columns`; resolves with its raw output. */
async function sendInTerminal(
  src: string,
  names: string[],
  columns: number,
  extra: string[] = [],
): Promise<string> {
  const rx = h.peer(['receive', '--out', await h.tempDir(), '--yes', ...server.peerArgs]);
  const { code } = await rx.waitFor('ready');
  const tx = peerInTerminal(['send', ...names, '--to', code, ...server.peerArgs, ...extra], {
    columns,
    cwd: src,
    env: { ...process.env, COLUMNS: undefined },
  });
  try {
    expect(await tx.exit, tx.screen()).toBe(0);
  } finally {
    tx.kill();
  }
  expect((await rx.exit()).code, rx.stderr).toBe(0);
  return tx.screen();
}

describe('progress bars in a terminal', () => {
  let src: string;
  beforeAll(async () => {
    src = await h.tempDir();
    await writeRandomFile(path.join(src, 'one.bin'), 6 * 1024 * 1024);
    await writeRandomFile(path.join(src, 'two.bin'), 3 * 1024 * 1024);
    await writeRandomFile(path.join(src, LONG_NAME), 2 * 1024 * 1024);
  });

  it.each([60, 80, 160])(
    'fit %i columns: nothing cut off, names shortened in the middle, order stable',
    async (columns) => {
      const raw = await sendInTerminal(src, ['one.bin', 'two.bin', LONG_NAME], columns);
      const screen = new Screen(columns);
      screen.write(raw);

      // No bar line was ever wider than the terminal (it would wrap and be cut in two).
      expect(screen.wrapped.filter((row) => BAR_LINE.test(row) || row.includes('ETA'))).toEqual([]);
      const drawn = frames(raw);
      const totals = drawn.flat().filter((l) => l.includes('total'));
      expect(totals.length).toBeGreaterThan(0);
      for (const line of totals) {
        expect(line.length, line).toBeLessThan(columns);
        // The total keeps its figures, its rate and its ETA.
        expect(line).toMatch(/%.* \/ .*total +([\d.]+ k?M?B\/s +)?ETA [\d:-]+/);
      }
      // The total is always the last line, below the file in flight.
      for (const frame of drawn) {
        const at = frame.findIndex((l) => l.includes('total'));
        if (at >= 0)
          expect(
            frame.slice(at + 1).filter((l) => BAR_LINE.test(l)),
            frame.join('\n'),
          ).toEqual([]);
      }
      // The long name's bar shows its start and its end.
      const long = drawn.flat().find((l) => l.includes('a-very-long') && BAR_LINE.test(l));
      expect(long).toMatch(/a-very-long.*….*-the-end\.bin$/);

      // What stays: a line per file, in full, and the summary; no bar is left behind.
      const text = screen.lines().join('\n');
      expect(text).toMatch(/done +6\.3 MB +one\.bin/);
      expect(text).toMatch(/done +3\.1 MB +two\.bin/);
      expect(text.replace(/\n/g, '')).toContain(`done     2.1 MB  ${LONG_NAME}`);
      expect(text).toContain('Sent 3 files, 11.5 MB');
      expect(screen.lines().filter((l) => l.includes('ETA'))).toEqual([]);
    },
    60_000,
  );

  it('are not drawn with --json unless --progress asks, and then never through the JSON lines', async () => {
    const plain = await sendInTerminal(src, ['two.bin'], 80, ['--json']);
    expect(plain).toContain('"event":"done"');
    expect(plain).not.toMatch(/ETA|█/);
    const asked = await sendInTerminal(src, ['one.bin', 'two.bin'], 80, ['--json', '--progress']);
    expect(asked).toContain('ETA');
    // On the screen: every JSON line whole, and no bar left among them.
    const screen = new Screen(80);
    screen.write(asked);
    const lines = screen.logicalLines();
    const json = lines.filter((l) => l.startsWith('{'));
    // Each event printed is still there: none was drawn over by the bars.
    expect(json.length).toBe(asked.split('{"event":').length - 1);
    expect(json.map((l) => (JSON.parse(l) as { event: string }).event)).toContain('done');
    expect(lines.filter((l) => /ETA|█|░/.test(l))).toEqual([]);
  }, 60_000);
});

describe('peer get in a terminal', () => {
  it('draws a total bar while it fetches, and takes it away before the last line', async () => {
    const src = await h.tempDir();
    await writeRandomFile(path.join(src, 'data.bin'), 16 * 1024 * 1024);
    // Small chunks: many progress events, so the bar is drawn more than once.
    const sharer = h.peer(['share', path.join(src, 'data.bin'), '--chunk-size', '65536', ...server.peerArgs]);
    const { ticket } = await sharer.waitFor('share-ready');
    const out = await h.tempDir();
    const getter = peerInTerminal(['get', ticket, '--out', out, ...server.peerArgs], {
      columns: 80,
      env: { ...process.env, COLUMNS: undefined },
    });
    try {
      expect(await getter.exit, getter.screen()).toBe(0);
    } finally {
      getter.kill();
      sharer.kill();
    }
    const raw = getter.screen();
    const totals = frames(raw)
      .flat()
      .filter((l) => l.includes('total'));
    expect(totals.length, raw).toBeGreaterThan(0);
    expect(
      totals.every((l) => BAR_LINE.test(l)),
      totals.join('\n'),
    ).toBe(true);
    // What stays on the screen: no bar, and the summary line last.
    const screen = new Screen(80);
    screen.write(raw);
    const lines = screen.logicalLines().filter((l) => l.trim() !== '');
    expect(lines.filter((l) => /ETA|█|░/.test(l))).toEqual([]);
    expect(lines.at(-1), lines.join('\n')).toMatch(/^Got 1 file \(16\.8 MB, every chunk verified\)/);
  }, 60_000);
});

describe('JSON progress', () => {
  it('reaches each file size before its file-done, on both sides', async () => {
    const src = await h.tempDir();
    const names = ['a.bin', 'b.bin', 'c.bin'];
    for (const n of names) await writeRandomFile(path.join(src, n), 3 * 1024 * 1024);
    const rx = h.peer(['receive', '--out', await h.tempDir(), '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', ...names, '--to', code, ...server.peerArgs], { cwd: src });
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    for (const side of [tx, rx]) {
      for (const name of names) {
        const done = side.events.findIndex((e) => e.event === 'file-done' && e.name === name);
        const before = side.events.slice(0, done);
        const last = before.findLast((e) => e.event === 'progress' && e.file === name);
        expect(last, name).toMatchObject({ fileBytes: 3 * 1024 * 1024, fileSize: 3 * 1024 * 1024 });
      }
    }
    await fs.rm(src, { recursive: true });
  }, 60_000);
});
