/**
 * What Output prints, fed events directly, into streams that say whether they
 * are terminals; and the pieces it is made of: terminal-safe text, the bar
 * layout, the rate.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Output } from '../../src/cli/output.js';
import { barWidth, formatEta, layoutBars, totalNote } from '../../src/cli/progress-layout.js';
import { RateMeter } from '../../src/cli/rate.js';
import { pathWords } from '../../src/cli/sentences.js';
import {
  columnsOf,
  jsonSafe,
  terminalSafe,
  terminalSafeText,
  truncateMiddle,
} from '../../src/cli/terminal-text.js';
import { PeerlaneError } from '../../src/core/errors.js';
import type { PeerEvent } from '../../src/core/events.js';
import { directReach } from '../../src/core/reach.js';

function stream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const s = Object.assign(new PassThrough(), { isTTY, columns: 80 });
  let text = '';
  s.setEncoding('utf8');
  s.on('data', (chunk: string) => {
    text += chunk;
  });
  return { stream: s as unknown as NodeJS.WriteStream, text: () => text };
}

function output(
  opts: { tty?: boolean; json?: boolean; verb?: 'sent' | 'received'; sendsText?: boolean } = {},
) {
  const stdout = stream(opts.tty ?? false);
  const stderr = stream(opts.tty ?? false);
  const out = new Output({
    json: opts.json ?? false,
    quiet: false,
    verb: opts.verb ?? 'received',
    ...(opts.sendsText ? { sendsText: true } : {}),
    stdout: stdout.stream,
    stderr: stderr.stream,
  });
  return { out, stdout: stdout.text, stderr: stderr.text };
}

/** Any control, format or separator character left raw (the line's own newline aside). */
function raw(s: string): boolean {
  return /[\p{Cc}\p{Cf}\p{Zl}]/u.test(s.replace(/\n$/, ''));
}

/** Title change, clear screen, an OSC 52 clipboard write, a C1 CSI and a right-to-left override. */
const HOSTILE = 'a\u001b]0;pwned\u0007b\u001b[2J\u001b]52;c;Y3VybCBldmls\u0007\u009b31m\u202eexe.txt';

describe('terminal-safe text', () => {
  it('escapes controls, C1 and bidi characters, and keeps the rest', () => {
    const safe = terminalSafe(HOSTILE);
    expect(raw(safe)).toBe(false);
    expect(safe).toBe(
      'a\\u001b]0;pwned\\u0007b\\u001b[2J\\u001b]52;c;Y3VybCBldmls\\u0007\\u009b31m\\u202eexe.txt',
    );
    expect(terminalSafe('line\nfake line')).toBe('line\\u000afake line');
    expect(terminalSafe('café 👩‍💻 داده‌ها')).toBe('café 👩‍💻 داده‌ها');
  });

  it('keeps the lines and tabs of a text', () => {
    expect(terminalSafeText('one\n\ttwo\r\u001b[2J')).toBe('one\n\ttwo\\u000d\\u001b[2J');
  });

  it('JSON stays the same value for a parser', () => {
    const value = { text: HOSTILE, line: '\u2028' };
    const json = jsonSafe(value);
    expect(raw(json)).toBe(false);
    expect(JSON.parse(json)).toEqual(value);
  });

  it('cuts a long name in the middle, within its columns', () => {
    expect(truncateMiddle('photos/holiday-2024/IMG_0001.jpg', 20)).toBe('photos/hol…_0001.jpg');
    expect(truncateMiddle('short.txt', 20)).toBe('short.txt');
    const wide = truncateMiddle('写真写真写真写真写真.jpg', 12);
    expect(columnsOf(wide)).toBeLessThanOrEqual(12);
    expect(wide).toMatch(/^写真.*….*\.jpg$/);
  });
});

describe('the bar layout', () => {
  const file = { label: 'x'.repeat(200), bytes: 5e6, size: 1e7 };
  const total = { label: 'total', bytes: 5e6, size: 3e7, note: totalNote(1.23e6, 4000) };

  it.each([40, 60, 80, 100, 160, 240])(
    'keeps every line inside %i columns, figures and ETA whole',
    (columns) => {
      const lines = layoutBars([file, total], columns);
      for (const line of lines) expect(columnsOf(line)).toBeLessThan(columns);
      expect(lines[0]).toMatch(/50% +5\.0 MB \/ +10\.0 MB {2}x+…x+$/);
      if (columns >= 60)
        expect(lines[1]).toMatch(/16% +5\.0 MB \/ +30\.0 MB {2}total +1\.2 MB\/s {2}ETA 1:06:40$/);
    },
  );

  it('draws a bar only where it leaves room, at most 30 wide', () => {
    // The README says: none below 69 columns.
    expect(barWidth(60)).toBe(0);
    expect(barWidth(68)).toBe(0);
    expect(barWidth(69)).toBe(8);
    expect(barWidth(80)).toBeGreaterThanOrEqual(8);
    expect(barWidth(200)).toBe(30);
  });

  it('formats the ETA in fixed steps', () => {
    expect(formatEta(undefined)).toBe('--:--');
    expect(formatEta(0.2)).toBe('0:01');
    expect(formatEta(61)).toBe('1:01');
    expect(formatEta(3600 * 9 + 59 * 60 + 59)).toBe('9:59:59');
    expect(formatEta(3600 * 10)).toBe('>10h');
  });
});

describe('the rate', () => {
  it('counts only what moved, so a resumed start does not inflate it', () => {
    const meter = new RateMeter();
    // 10 MB/s, sampled every 100 ms, after a resume that moved nothing.
    for (let t = 0; t <= 5_000; t += 100) meter.sample(t, t * 10_000);
    expect(meter.rate).toBeCloseTo(10e6, -5);
  });

  it('smooths a burst: the ETA does not jump with one fast or slow moment', () => {
    const meter = new RateMeter();
    let moved = 0;
    const etas: number[] = [];
    for (let t = 0; t <= 10_000; t += 100) {
      // 10 MB/s on average, in bursts of 0 and 20 MB/s.
      moved += (t / 100) % 2 === 0 ? 2e6 : 0;
      meter.sample(t, moved);
      if (t >= 2_000) etas.push(meter.eta(100e6 - moved) ?? Number.NaN);
    }
    for (let i = 1; i < etas.length; i++) {
      // Each 100 ms the ETA moves by about 0.1 s, never by seconds.
      expect(Math.abs((etas[i] ?? 0) - (etas[i - 1] ?? 0))).toBeLessThan(1);
    }
  });
});

describe('how a direct path reaches the peer', () => {
  it.each([
    ['host', '192.168.1.20', 'host', '192.168.1.30', 'same-network'],
    // A LAN peer's candidate that arrived after its first check: still the same network.
    ['host', '127.0.0.1', 'prflx', '127.0.0.1', 'same-network'],
    ['host', 'fe80::1', 'host', 'abcd-1234.local', 'same-network'],
    ['srflx', '203.0.113.5', 'host', '192.168.1.30', 'through-nat'],
    ['host', '192.168.1.20', 'prflx', '198.51.100.7', 'through-nat'],
    ['host', '203.0.113.5', 'host', '198.51.100.7', 'internet'],
  ] as const)('%s %s -> %s %s: %s', (lt, la, rt, ra, reach) => {
    expect(directReach({ type: lt, address: la }, { type: rt, address: ra })).toBe(reach);
  });
});

describe('Output', () => {
  it('names the path in words; the candidate types stay in JSON', () => {
    expect(pathWords({ path: 'direct', reach: 'same-network' })).toBe('direct, same network');
    expect(pathWords({ path: 'direct', reach: 'through-nat' })).toBe('direct, through NAT');
    expect(pathWords({ path: 'relay' })).toBe('relayed through TURN');
    expect(pathWords({ path: 'direct' })).toBe('direct');
    const { out, stdout, stderr } = output({ json: true, verb: 'sent' });
    out.event({
      event: 'connected',
      path: 'direct',
      local: 'host',
      remote: 'prflx',
      reach: 'through-nat',
      transport: 'webrtc',
    });
    expect(stderr()).toContain('Connected: direct, through NAT.');
    expect(JSON.parse(stdout())).toMatchObject({ local: 'host', remote: 'prflx' });
  });

  it('tells the sender it waits for the receiver to accept, once, and not for a text', () => {
    const files = output({ verb: 'sent' });
    const connected: PeerEvent = {
      event: 'connected',
      path: 'relay',
      local: 'relay',
      remote: 'relay',
      transport: 'webrtc',
    };
    files.out.event(connected);
    files.out.event(connected);
    expect(files.stderr()).toBe(
      'Connected: relayed through TURN.\nWaiting for the receiver to accept…\nConnected again: relayed through TURN.\n',
    );
    const text = output({ verb: 'sent', sendsText: true });
    text.out.event(connected);
    expect(text.stderr()).not.toContain('accept');
  });

  it("escapes the peer's or the server's error message, on the terminal and in JSON", () => {
    const { out, stdout, stderr } = output({ tty: true, json: true });
    out.error(new PeerlaneError('REMOTE_ERROR', `the sender says: ${HOSTILE}`));
    expect(raw(stderr())).toBe(false);
    expect(stderr()).toContain('\\u001b]0;pwned');
    expect(raw(stdout())).toBe(false);
    expect(JSON.parse(stdout()).message).toBe(`the sender says: ${HOSTILE}`);
  });

  it('prints a text byte for byte into a pipe, escaped on a terminal', () => {
    const pipe = output({ tty: false });
    pipe.out.event({ event: 'text', text: HOSTILE });
    expect(pipe.stdout()).toBe(`${HOSTILE}\n`);
    const tty = output({ tty: true });
    tty.out.event({ event: 'text', text: `two\nlines ${HOSTILE}` });
    expect(tty.stdout()).toBe(`two\nlines ${terminalSafe(HOSTILE)}\n`);
  });

  it('reports a file under the name it was saved as, and a resumed one as resumed', () => {
    const { out, stderr } = output();
    out.event({
      event: 'file-done',
      name: 'docs/a.txt',
      path: '/home/me/dl/docs/a (1).txt',
      bytes: 10,
      sha256: '0',
      resumedBytes: 0,
    });
    out.event({
      event: 'file-done',
      name: 'big.iso',
      path: '/home/me/dl/big.iso',
      bytes: 9e6,
      sha256: '0',
      resumedBytes: 6e6,
    });
    expect(stderr()).toContain('docs/a.txt, saved as docs/a (1).txt');
    expect(stderr()).toContain('big.iso (resumed: 6.0 MB were already there)');
  });

  it('says where the files went, what was resumed, and not "0 files" for a text', () => {
    const usage = { cpuSeconds: 0, maxRssBytes: 0 };
    const files = [
      { name: 'a', path: '/dl/a', bytes: 4e6, sha256: '0', resumedBytes: 0 },
      { name: 'b', path: '/dl/b', bytes: 6e6, sha256: '0', resumedBytes: 4e6 },
    ];
    const rx = output();
    rx.out.event({ event: 'done', files, bytes: 6e6, seconds: 2, mbps: 3, usage, out: '/dl' });
    expect(rx.stderr()).toBe(
      'Received 2 files, 6.0 MB in 2.0 s (3.0 MB/s) into /dl, SHA-256 verified.\n' +
        '1 file resumed: 4.0 MB were already there and were not sent again.\n',
    );
    const tx = output({ verb: 'sent' });
    tx.out.event({ event: 'done', files: [], bytes: 0, seconds: 0, mbps: 0, usage, text: true });
    expect(tx.stderr()).toBe('Sent the text.\n');
  });
});
