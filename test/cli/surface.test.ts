/**
 * The command line as typed: flags given twice, the short forms (`peer help`,
 * `-v`, `peer CODE`), where `peer receive` takes its code from, naming a
 * stream, the sender's --verify and the word prompt, each in a real process.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEER_COMMAND_SETTINGS, PEER_PAIR_ONLY_FLAGS } from '../../src/cli/peer-settings.js';
import { SIGNAL_SETTINGS } from '../../src/cli/signal-settings.js';
import type { Setting } from '../../src/config.js';
import { entryPoint } from '../../src/project.js';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess, SignalHandle } from '../../src/testing/harness.js';
import { Harness } from '../../src/testing/harness.js';
import { peerInTerminal } from '../../src/testing/terminal.js';

const run = promisify(execFile);
const h = new Harness();
let server: SignalHandle;

beforeAll(async () => {
  server = await h.signalServer();
});
afterAll(() => h.cleanup());

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** A program of ours run to its end, with no terminal. */
async function ran(program: 'peer' | 'signal', args: readonly string[]): Promise<Ran> {
  try {
    const { stdout, stderr } = await run(process.execPath, [entryPoint(program), ...args], {
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Every long flag a help text shows. */
function flagsIn(help: string): string[] {
  return [
    ...new Set([...help.matchAll(/^\s+(?:-\w, )?--([a-z][a-z0-9-]*)(?= {2}|$)/gm)].map((m) => m[1] ?? '')),
  ];
}

/** Every flag a command accepts, from its settings table, and yargs' own two. */
function tableFlags(table: readonly Setting[]): string[] {
  return [...table.flatMap((s) => (s.flag === undefined ? [] : [s.flag])), 'help', 'version'];
}

/** `run` for each flag, a few at a time: each is a process start, and the machine is shared. */
async function eachFlag(
  flags: string[],
  run: (flag: string) => Promise<Ran>,
): Promise<{ flag: string; r: Ran }[]> {
  const results: { flag: string; r: Ran }[] = [];
  for (let i = 0; i < flags.length; i += 4) {
    const batch = flags.slice(i, i + 4);
    results.push(...(await Promise.all(batch.map(async (flag) => ({ flag, r: await run(flag) })))));
  }
  return results;
}

async function bothOk(rx: EventProcess, tx: EventProcess): Promise<void> {
  const [rxExit, txExit] = await Promise.all([rx.exit(), tx.exit()]);
  expect(txExit.code, tx.stderr).toBe(0);
  expect(rxExit.code, rx.stderr).toBe(0);
}

async function source(name = 'doc.bin', size = 50_000): Promise<string> {
  const file = path.join(await h.tempDir(), name);
  await writeRandomFile(file, size);
  return file;
}

describe('a flag given twice', () => {
  it.each([
    ['peer', ['receive'], PEER_COMMAND_SETTINGS.receive],
    ['peer', ['send'], PEER_COMMAND_SETTINGS.send],
    ['peer', ['list'], PEER_COMMAND_SETTINGS.list],
    ['peer', ['share', 'x'], PEER_COMMAND_SETTINGS.share],
    ['peer', ['get', 'x'], PEER_COMMAND_SETTINGS.get],
    ['signal', [], SIGNAL_SETTINGS],
  ] as const)(
    'is a usage error for every flag of %s %j',
    async (program, command, table) => {
      // Every flag of the settings table, so a new setting is covered as it is added;
      // and the help shows none that the table lacks.
      const flags = tableFlags(table);
      const help = (await ran(program, [...command, '--help'])).stdout;
      expect(flagsIn(help).filter((flag) => !flags.includes(flag))).toEqual([]);
      expect(flags.length).toBeGreaterThan(3);
      const results = await eachFlag(flags, (flag) =>
        ran(program, [...command, `--${flag}`, '1', `--${flag}`, '2']),
      );
      for (const { flag, r } of results) {
        expect(r.code, `--${flag}: ${r.stderr}`).toBe(2);
        expect(r.stderr, flag).toContain(`USAGE: --${flag} was given twice`);
      }
    },
    60_000,
  );

  it.each([
    [['send', 'x', '--ice-servers', 'a', '--ice-servers', 'b'], '--ice-servers'],
    [['receive', '--out', 'a', '--out=b'], '--out'],
    [['receive', '--yes', '--no-yes'], '--yes'],
    [['receive', '--signal', 'a:1', '--signal', 'b:2'], '--signal'],
    [['receive', '--codeWords', '3', '--code-words', '4'], '--code-words'],
    [['--version', '-v'], '--version'],
  ])('in any spelling: %j', async (args, flag) => {
    const r = await ran('peer', args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(
      `peer: USAGE: ${flag} was given twice; give it once. Next: see \`peer --help\`.`,
    );
  });
});

describe('peer share and peer get', () => {
  it.each(['share', 'get'])(
    'refuse each flag of send and receive that means nothing to them, by name: peer %s',
    async (command) => {
      const help = (await ran('peer', [command, '--help'])).stdout;
      expect(flagsIn(help)).toEqual(expect.arrayContaining(['timeout', 'transport', 'ice-servers']));
      expect(flagsIn(help).filter((flag) => PEER_PAIR_ONLY_FLAGS.includes(flag))).toEqual([]);
      expect(PEER_PAIR_ONLY_FLAGS.length).toBeGreaterThan(3);
      const results = await eachFlag([...PEER_PAIR_ONLY_FLAGS], (flag) =>
        ran('peer', [command, 'x', `--${flag}`, '1']),
      );
      for (const { flag, r } of results) {
        expect(r.code, `--${flag}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toBe(
          `peer: USAGE: --${flag} is a flag of send and receive only; peer ${command} does not take it. Next: see \`peer --help\`.\n`,
        );
      }
    },
    60_000,
  );
});

describe('short forms', () => {
  it('`peer help` is `peer --help`, and `peer help send` is `peer send --help`', async () => {
    expect((await ran('peer', ['help'])).stdout).toBe((await ran('peer', ['--help'])).stdout);
    const sendHelp = (await ran('peer', ['send', '--help'])).stdout;
    expect(sendHelp).toContain('--to');
    expect((await ran('peer', ['help', 'send'])).stdout).toBe(sendHelp);
  });

  it('-v is --version, for peer and the signal server', async () => {
    const version = (await ran('peer', ['--version'])).stdout;
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect((await ran('peer', ['-v'])).stdout).toBe(version);
    expect((await ran('signal', ['-v'])).stdout).toBe(version);
  });

  it('`peer CODE` receives from the sender that printed CODE', async () => {
    const file = await source();
    const out = await h.tempDir();
    const tx = h.peer(['send', file, ...server.peerArgs], { env: { PEER_CODE: '' } });
    const { code } = await tx.waitFor('ready');
    const rx = h.peer([code, '--out', out, '--yes', ...server.peerArgs]);
    await bothOk(rx, tx);
    expect(await sha256File(path.join(out, 'doc.bin'))).toBe(await sha256File(file));
  });
});

describe('peer receive', () => {
  it('--stdout with --out is a usage error', async () => {
    const r = await ran('peer', ['receive', '--stdout', '--out', 'x', ...server.peerArgs]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('USAGE: --stdout');
  });

  it('--out where no folder can be made fails at once with OUT_NOT_WRITABLE', async () => {
    const started = Date.now();
    const r = await ran('peer', ['receive', '--out', '/proc/nope/deeper', ...server.peerArgs]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('OUT_NOT_WRITABLE');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('--out makes missing parents, one folder at a time', async () => {
    const out = path.join(await h.tempDir(), 'a', 'b', 'c');
    const file = await source();
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    await bothOk(rx, h.peer(['send', file, '--to', code, ...server.peerArgs]));
    expect(await listTree(out)).toEqual(['doc.bin']);
  });

  /** A sender goes first; `join` starts the receiver with its code somehow. */
  async function joinsWith(join: (code: string, out: string) => EventProcess): Promise<void> {
    const file = await source();
    const out = await h.tempDir();
    const tx = h.peer(['send', file, ...server.peerArgs], { env: { PEER_CODE: '' } });
    const { code } = await tx.waitFor('ready');
    const rx = join(code, out);
    expect(rx.child.spawnargs.join(' ')).not.toContain(code);
    await bothOk(rx, tx);
    expect(await sha256File(path.join(out, 'doc.bin'))).toBe(await sha256File(file));
  }

  it('takes the code from PEER_CODE, off the command line', async () => {
    await joinsWith((code, out) =>
      h.peer(['receive', '--out', out, '--yes', ...server.peerArgs], { env: { PEER_CODE: code } }),
    );
  });

  it('with -, reads the code from stdin', async () => {
    await joinsWith((code, out) => {
      const rx = h.spawnScript(
        'peer',
        ['receive', '-', '--out', out, '--yes', '--json', ...server.peerArgs],
        {
          stdin: 'pipe',
        },
      );
      rx.child.stdin?.end(`${code}\n`);
      return rx;
    });
  });

  it('with - and nothing on stdin, is a usage error', async () => {
    // stdin is /dev/null: it ends at once.
    const rx = h.spawnScript('peer', ['receive', '-', ...server.peerArgs]);
    expect((await rx.exit()).code).toBe(2);
    expect(rx.stderr).toContain('USAGE: peer receive - asks for the code');
  });

  it('with - in a terminal, Ctrl-C at the code prompt stops it with status 130', async () => {
    const rx = peerInTerminal(['receive', '-', ...server.peerArgs]);
    try {
      await rx.until(/Code: /);
      rx.type('\x03');
      expect(await rx.exit).toBe(130);
      expect(rx.screen()).toContain('INTERRUPTED: stopped by Ctrl-C at the prompt.');
    } finally {
      rx.kill();
    }
  });

  it('with - in a terminal, asks for the code, and Tab completes its words', async () => {
    const file = await source();
    const out = await h.tempDir();
    const tx = h.peer(['send', file, ...server.peerArgs], { env: { PEER_CODE: '' } });
    const { code } = await tx.waitFor('ready');
    const [nameplate, first = '', second = ''] = code.split('-');
    const rx = peerInTerminal(['receive', '-', '--out', out, '--yes', ...server.peerArgs]);
    try {
      await rx.until(/Code: /);
      // Four letters name a BIP-39 word; Tab writes the rest of it.
      rx.type(`${nameplate}-${first.slice(0, 4)}\t`);
      await rx.until(new RegExp(`${nameplate}-${first}`));
      rx.answer(`-${second}`);
      expect(await rx.exit, rx.screen()).toBe(0);
      expect((await tx.exit()).code, tx.stderr).toBe(0);
      expect(await listTree(out)).toEqual(['doc.bin']);
    } finally {
      rx.kill();
    }
  });
});

describe('peer send', () => {
  it('--name-as names the stream from stdin', async () => {
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.spawnScript(
      'peer',
      ['send', '-', '--name-as', 'backup.tar', '--to', code, '--json', ...server.peerArgs],
      {
        stdin: 'pipe',
      },
    );
    tx.child.stdin?.end('a stream of bytes');
    await bothOk(rx, tx);
    expect(await listTree(out)).toEqual(['backup.tar']);
    expect(await fs.readFile(path.join(out, 'backup.tar'), 'utf8')).toBe('a stream of bytes');
  });

  it.each([
    [['send', 'file.txt', '--name-as', 'x.tar'], '--name-as names the stream from -'],
    [['send', '-', '--name-as', '../x.tar'], '--name-as: refused file name'],
  ])('%j is a usage error', async (args, message) => {
    const r = await ran('peer', [...args, ...server.peerArgs]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it('--verify without a terminal is a usage error that names --show-words', async () => {
    const r = await ran('peer', ['send', await source(), '--verify', ...server.peerArgs]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--show-words');
  });

  it.each([
    ['y', 0],
    ['n', 1],
    ['', 1],
  ])('--verify shows the words and sends only after a yes (answer %j)', async (answer, status) => {
    const out = await h.tempDir();
    const file = await source();
    const rx = h.peer(['receive', '--out', out, '--yes', '--verify', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = peerInTerminal(['send', file, '--to', code, '--verify', ...server.peerArgs]);
    try {
      const connected = await rx.waitFor('connected');
      const [, words] = await tx.until(/Does the other side show "([a-z ]+)"\? \[y\/N\] /);
      expect(words).toBe(connected.verify);
      // Nothing has left while the question is open: not even the list of names.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(rx.events.some((e) => e.event === 'manifest')).toBe(false);
      tx.answer(answer);
      expect(await tx.exit, tx.screen()).toBe(status);
      const rxExit = await rx.exit();
      if (status === 0) {
        expect(rxExit.code).toBe(0);
        expect(await listTree(out)).toEqual(['doc.bin']);
      } else {
        expect(tx.screen()).toContain('NOT_VERIFIED');
        expect(rx.error?.code).toBe('NOT_VERIFIED');
        expect(await listTree(out)).toEqual([]);
      }
    } finally {
      tx.kill();
    }
  });
});

describe('spawning under npm', () => {
  it('the documented form, `npm run serve:signal -- --port 0`, starts the server', async () => {
    const npm = h.spawnCommand('npm', [
      'run',
      '-s',
      'serve:signal',
      '--',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--json',
    ]);
    const { port } = await npm.waitFor('listening');
    expect(port).toBeGreaterThan(0);
    expect(npm.stderr).not.toContain('USAGE');
  });

  it('a positional given to serve:signal names the -- form', async () => {
    const npm = h.spawnCommand('npm', ['run', '-s', 'serve:signal', '--port', '9600']);
    expect((await npm.exit()).code, npm.stderr).toBe(2);
    const stderr = npm.stderr;
    expect(stderr).toContain('`npm run serve:signal -- --port 9600`');
    expect(stderr).toMatch(/^peerlane-signal: USAGE: .* Next: see `npm run serve:signal -- --help`\.$/m);
  });
});
