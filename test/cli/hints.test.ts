/**
 * Every hint is a true next step for the situation that prints it, and can be
 * pasted: each row below produces one error code with real processes and
 * checks the line a person reads. A static check covers every code and side.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/core/errors.js';
import { ERROR_CODES, errorLine, PeerlaneError } from '../../src/core/errors.js';
import { writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess, SignalHandle } from '../../src/testing/harness.js';
import { Harness, LOOPBACK, peerArgsFor } from '../../src/testing/harness.js';
import { peerInTerminal } from '../../src/testing/terminal.js';

const h = new Harness();
let server: SignalHandle;

beforeAll(async () => {
  server = await h.signalServer();
});
afterAll(() => h.cleanup());

async function source(): Promise<string> {
  const file = path.join(await h.tempDir(), 'doc.bin');
  await writeRandomFile(file, 20_000);
  return file;
}

/** The `program: CODE: …` line a finished process printed. */
async function errorLineOf(proc: EventProcess, code: ErrorCode): Promise<string> {
  await proc.exit();
  const line = proc.stderr.split('\n').find((l) => l.includes(`: ${code}: `));
  expect(line, `${code} in:\n${proc.stderr}`).toBeDefined();
  return line ?? '';
}

/** A receiver waiting under a fresh code, without a terminal. */
async function waitingReceiver(extra: string[] = []): Promise<{ rx: EventProcess; code: string }> {
  const rx = h.peer(['receive', '--out', await h.tempDir(), ...extra, ...server.peerArgs]);
  return { rx, code: (await rx.waitFor('ready')).code };
}

/** A sender that went first, waiting under a fresh code. */
async function waitingSender(args: string[] = []): Promise<{ tx: EventProcess; code: string }> {
  const tx = h.peer(['send', await source(), ...args, ...server.peerArgs], { env: { PEER_CODE: '' } });
  return { tx, code: (await tx.waitFor('ready')).code };
}

interface Row {
  situation: string;
  code: ErrorCode;
  /** Produce the situation; resolve with the error line the side in question printed. */
  line: () => Promise<string>;
  hint: RegExp;
  /** What the hint must not claim there. */
  not?: RegExp;
}

const rows: Row[] = [
  {
    situation: 'an unknown command',
    code: 'USAGE',
    line: async () => {
      const line = await errorLineOf(h.peer(['sned']), 'USAGE');
      expect(line).toContain('USAGE: unknown command "sned"; did you mean send? Next:');
      return line;
    },
    hint: /see `peer --help`/,
  },
  {
    situation: 'a bad setting',
    code: 'BAD_CONFIG',
    line: () => errorLineOf(h.peer(['receive', '--timeout', '-1', ...server.peerArgs]), 'BAD_CONFIG'),
    hint: /`peer --help` lists both/,
  },
  {
    situation: 'a misspelt code word (no try spent)',
    code: 'BAD_CODE',
    line: async () => errorLineOf(h.peer(['send', await source(), '--to', '42-orbti-lemon']), 'BAD_CODE'),
    hint: /no try was spent/,
    not: /one try|used up|again for a new/,
  },
  {
    situation: 'a code without its words',
    code: 'BAD_CODE',
    line: async () => errorLineOf(h.peer(['send', await source(), '--to', '42-orbit']), 'BAD_CODE'),
    hint: /no try was spent/,
    not: /used up/,
  },
  {
    situation: 'the wrong words (the try is spent)',
    code: 'BAD_CODE',
    line: async () => {
      const { rx, code } = await waitingReceiver(['--yes']);
      const nameplate = code.split('-')[0] ?? '';
      await h.peer(['send', await source(), '--to', `${nameplate}-zoo-zoo`, ...server.peerArgs]).exit();
      return errorLineOf(rx, 'BAD_CODE');
    },
    hint: /one try, and this one is used up: the side that printed it runs its command again/,
  },
  {
    situation: 'both sides sending',
    code: 'BAD_CODE',
    line: async () => {
      const { tx, code } = await waitingSender();
      await h.peer(['send', await source(), '--to', code, ...server.peerArgs]).exit();
      return errorLineOf(tx, 'BAD_CODE');
    },
    hint: /one side runs `peer send`, the other `peer receive`/,
    not: /one try/,
  },
  {
    situation: 'a sender with a code nobody waits under',
    code: 'PEER_NOT_FOUND',
    line: async () =>
      errorLineOf(
        h.peer(['send', await source(), '--to', '987654-orbit-lemon', ...server.peerArgs]),
        'PEER_NOT_FOUND',
      ),
    hint: /start `peer receive` and use the code it prints/,
  },
  {
    situation: 'a receiver with a code nobody waits under',
    code: 'PEER_NOT_FOUND',
    line: async () =>
      errorLineOf(h.peer(['receive', '987654-orbit-lemon', ...server.peerArgs]), 'PEER_NOT_FOUND'),
    hint: /have the sender run `peer send` again/,
    not: /peer receive/,
  },
  {
    situation: 'a sender whose code expired',
    code: 'NAMEPLATE_EXPIRED',
    line: async () => {
      const signal = h.spawnScript('signal', [
        '--host',
        LOOPBACK,
        '--port',
        '0',
        '--json',
        '--nameplate-ttl',
        '1',
      ]);
      const { host, port } = await signal.waitFor('listening');
      const tx = h.peer(['send', await source(), ...peerArgsFor(host, port)], { env: { PEER_CODE: '' } });
      return errorLineOf(tx, 'NAMEPLATE_EXPIRED');
    },
    hint: /run `peer send` again for a new code/,
  },
  {
    situation: 'no signal server',
    code: 'SIGNAL_UNREACHABLE',
    line: () => errorLineOf(h.peer(['receive', ...peerArgsFor(LOOPBACK, 1)]), 'SIGNAL_UNREACHABLE'),
    hint: /start the signal server \(`peerlane-signal`\)/,
  },
  {
    situation: 'a receiver with no terminal and no --yes',
    code: 'CONSENT_REQUIRED',
    line: async () => {
      const { rx, code } = await waitingReceiver();
      h.peer(['send', await source(), '--to', code, ...server.peerArgs]);
      return errorLineOf(rx, 'CONSENT_REQUIRED');
    },
    hint: /pass --yes/,
  },
  {
    situation: 'the sender, when the receiver declined',
    code: 'REFUSED',
    line: async () => {
      const { code } = await waitingReceiver();
      return errorLineOf(h.peer(['send', await source(), '--to', code, ...server.peerArgs]), 'REFUSED');
    },
    hint: /nothing was sent; once the receiver agrees, run both commands again/,
  },
  {
    situation: 'the sender, after Ctrl-C at the consent prompt',
    code: 'PEER_LOST',
    line: async () => {
      const rx = peerInTerminal(['receive', '--out', await h.tempDir(), ...server.peerArgs]);
      try {
        const [code] = await rx.until(/[1-9][0-9]*-[a-z]+-[a-z]+/);
        const tx = h.peer(['send', await source(), '--to', code, ...server.peerArgs]);
        await rx.until(/Accept\? \[y\/N\]/);
        rx.type('\x03');
        expect(await rx.exit).toBe(130);
        return await errorLineOf(tx, 'PEER_LOST');
      } finally {
        rx.kill();
      }
    },
    hint: /run both commands again/,
    not: /mid-transfer/,
  },
  {
    situation: 'Ctrl-C while waiting',
    code: 'INTERRUPTED',
    line: async () => {
      const { rx } = await waitingReceiver();
      rx.kill('SIGINT');
      return errorLineOf(rx, 'INTERRUPTED');
    },
    hint: /run both commands again/,
    not: /interrupted\. Next: interrupted/,
  },
  {
    situation: 'a missing file',
    code: 'INPUT_NOT_FOUND',
    line: () => errorLineOf(h.peer(['send', '/nonexistent/file', ...server.peerArgs]), 'INPUT_NOT_FOUND'),
    hint: /check the path/,
  },
  {
    situation: 'too much text',
    code: 'TEXT_TOO_LARGE',
    line: () =>
      errorLineOf(h.peer(['send', '--text', 'x'.repeat(70_000), ...server.peerArgs]), 'TEXT_TOO_LARGE'),
    hint: /`peer send - < notes\.txt`/,
  },
  {
    situation: 'an --out that cannot be made',
    code: 'OUT_NOT_WRITABLE',
    line: () =>
      errorLineOf(h.peer(['receive', '--out', '/proc/nope', ...server.peerArgs]), 'OUT_NOT_WRITABLE'),
    hint: /choose a folder you can write to with --out/,
  },
  {
    situation: 'two files offered to --stdout',
    code: 'NOT_ONE_STREAM',
    line: async () => {
      const rx = h.spawnScript('peer', ['receive', '--stdout', '--yes', ...server.peerArgs]);
      const code = await new Promise<string>((resolve) => {
        // The data owns stdout: the code is printed on stderr.
        rx.child.stderr?.on('data', () => {
          const m = /[1-9][0-9]*-[a-z]+-[a-z]+/.exec(rx.stderr);
          if (m) resolve(m[0]);
        });
      });
      h.peer(['send', await source(), await source(), '--to', code, ...server.peerArgs]);
      return errorLineOf(rx, 'NOT_ONE_STREAM');
    },
    hint: /receive into --out instead/,
  },
];

describe('each error code, in the situation that produces it', () => {
  it.each(rows.map((r) => [r.code, r.situation, r] as const))(
    '%s: %s',
    async (code, _situation, row) => {
      const line = await row.line();
      const m = new RegExp(`^(peer|peerlane-signal): ${code}: (.+?) Next: (.+)$`).exec(line);
      expect(m, line).not.toBeNull();
      const [, , message = '', hint = ''] = m ?? [];
      // One closing mark each, never two.
      expect(message, line).toMatch(/[^.?!][.?!]$/);
      expect(hint, line).toMatch(/[^.?!]\.$/);
      expect(hint, line).toMatch(row.hint);
      if (row.not) expect(hint, line).not.toMatch(row.not);
    },
    40_000,
  );
});

describe('what the side that goes first tells the other to run', () => {
  /** The human lines (no --json) up to the code, then stop. */
  async function instructions(args: string[]): Promise<{ text: string; code: string }> {
    const proc = h.spawnScript('peer', [...args, ...server.peerArgs], { env: { PEER_CODE: '' } });
    const code = await new Promise<string>((resolve) => {
      proc.child.stdout?.on('data', (d: Buffer) => resolve(d.toString().trim()));
    });
    proc.kill('SIGKILL');
    await proc.exit();
    return { text: proc.stderr, code };
  }

  it('a sender: the receive command, pasteable as it stands', async () => {
    const { text, code } = await instructions(['send', await source()]);
    expect(text).toContain(`\n  peer receive ${code}\n`);
    expect(text).not.toMatch(/<\w/);
  });

  it('a receiver: the send command, with no shell metacharacters to trip on', async () => {
    const { text, code } = await instructions(['receive']);
    expect(text).toContain(`\n  peer send FILE --to ${code}\n`);
    expect(text).not.toMatch(/<\w/);
  });
});

describe('every code, from every side', () => {
  const contexts = [
    { program: 'peer', side: 'send' as const },
    { program: 'peer', side: 'receive' as const },
    { program: 'peerlane-signal', invocation: 'npm run serve:signal --' },
  ];

  it.each(Object.keys(ERROR_CODES) as ErrorCode[])('%s has a hint that is a next step', (code) => {
    for (const context of contexts) {
      const line = errorLine(new PeerlaneError(code, 'what happened'), context);
      const hint = line.split(' Next: ')[1] ?? '';
      expect(line.startsWith(`${context.program}: ${code}: what happened. Next: `), line).toBe(true);
      // Not the problem again: a hint says what to do.
      expect(hint.toLowerCase(), line).not.toMatch(/^(interrupted|the receiver declined)/);
      expect(hint, line).toMatch(/[^.?!]\.$/);
      // What can be pasted names a real program and, for peer, a real command; no placeholders.
      for (const [, snippet = ''] of hint.matchAll(/`([^`]+)`/g)) {
        expect(snippet, line).toMatch(
          /^(peer (send|receive|list|daemon|status|stop|--help)|peerlane-signal|npm run serve:signal --)/,
        );
        expect(snippet, line).not.toMatch(/<\w|…/);
      }
    }
  });

  it('a usage hint names the program and the way it was run', () => {
    const err = new PeerlaneError('USAGE', 'Unknown argument: 9600');
    expect(errorLine(err, { program: 'peer' })).toBe(
      'peer: USAGE: Unknown argument: 9600. Next: see `peer --help`.',
    );
    expect(errorLine(err, { program: 'peerlane-signal', invocation: 'npm run serve:signal --' })).toBe(
      'peerlane-signal: USAGE: Unknown argument: 9600. Next: see `npm run serve:signal -- --help`.',
    );
    expect(errorLine(new PeerlaneError('USAGE', 'Did you mean send?'), { program: 'peer' })).toBe(
      'peer: USAGE: Did you mean send? Next: see `peer --help`.',
    );
  });
});
