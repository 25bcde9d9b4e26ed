/**
 * The CLI's stable surface: `--help` text, the JSON event names and the
 * error codes; and the sizes and times the README states, against the code. (The progress bars as a terminal sees them: progress-tty.test.ts.)
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FREEZE_LIMIT_MS } from '../../src/cli/freeze-guard.js';
import { PEER_SETTINGS } from '../../src/cli/peer-settings.js';
import { SIGNAL_SETTINGS } from '../../src/cli/signal-settings.js';
import { ERROR_CODES } from '../../src/core/errors.js';
import { EVENT_NAMES } from '../../src/core/events.js';
import { MAX_SIGNAL_MESSAGE_BYTES } from '../../src/core/signaling/protocol.js';
import {
  BLOCK_SIZE,
  CHUNK_SIZE,
  MAX_NAME_BYTES,
  MAX_QUEUED_FRAMES,
  MAX_REL_PATH_BYTES,
  MAX_TEXT_BYTES,
  PEER_IDLE_TIMEOUT_MS,
  PING_INTERVAL_MS,
  RECEIVE_WINDOW,
  SEND_HIGH_WATER,
  STALL_TIMEOUT_MS,
} from '../../src/core/transfer/protocol.js';
import { entryPoint, packageRoot } from '../../src/project.js';
import { KEEPALIVE_INTERVAL_MS } from '../../src/session/peer-session.js';
import { READ_SIZE } from '../../src/transfer/read-ahead.js';

const run = promisify(execFile);
const entry = entryPoint('peer');
/** Help must not depend on who runs it: no settings from the environment. */
const cleanEnv: NodeJS.ProcessEnv = {
  ...process.env,
  ...Object.fromEntries(PEER_SETTINGS.flatMap((s) => (s.env === undefined ? [] : [[s.env, undefined]]))),
  COLUMNS: undefined,
};

async function help(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [entry, ...args], { env: cleanEnv, cwd: packageRoot() });
  return stdout;
}

describe('help', () => {
  it.each([
    [['--help']],
    [['send', '--help']],
    [['receive', '--help']],
    [['list', '--help']],
    [['share', '--help']],
    [['get', '--help']],
    [['daemon', '--help']],
    [['status', '--help']],
    [['stop', '--help']],
  ])('peer %j', async (args) => {
    expect(await help(args)).toMatchSnapshot();
  });

  it('every command shows examples', async () => {
    for (const cmd of ['send', 'receive', 'list', 'share', 'get', 'daemon', 'status', 'stop'])
      expect(await help([cmd, '--help'])).toContain('Examples:');
  });
});

/**
 * `npm run serve:signal -- --help`: package.json's script run as npm runs it
 * (npm names it in npm_lifecycle_event, which the usage line shows), with no
 * settings from the environment and in an empty folder, so no .env is read.
 */
async function signalHelp(): Promise<string> {
  const pkg = JSON.parse(await fs.readFile(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const [node, script, ...rest] = (pkg.scripts['serve:signal'] ?? '').split(' ');
  expect([node, rest]).toEqual(['node', []]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...Object.fromEntries(SIGNAL_SETTINGS.flatMap((s) => ('env' in s ? [[s.env, undefined]] : []))),
    COLUMNS: undefined,
    npm_lifecycle_event: 'serve:signal',
  };
  const cwd = await fs.mkdtemp(path.join(os.tmpdir(), 'peerlane-help-'));
  try {
    const file = path.join(packageRoot(), script ?? '');
    const { stdout } = await run(process.execPath, [file, '--help'], { env, cwd });
    return stdout;
  } finally {
    await fs.rm(cwd, { recursive: true, force: true });
  }
}

/** The variables (`[NAME]`) each long flag of a help text names, by flag. */
function variablesByFlag(help: string): Map<string, string[]> {
  const byFlag = new Map<string, string[]>();
  let names: string[] = [];
  for (const line of help.split('\n')) {
    const flag = /^\s+(?:-\w, )?--([a-z][a-z0-9-]*)/.exec(line)?.[1];
    if (flag !== undefined) {
      names = [];
      byFlag.set(flag, names);
    }
    names.push(...[...line.matchAll(/\[([A-Z][A-Z0-9_]*)\]/g)].map((m) => m[1] ?? ''));
  }
  return byFlag;
}

describe('serve:signal help', () => {
  it('npm run serve:signal -- --help', async () => {
    expect(await signalHelp()).toMatchSnapshot();
  });

  it('shows every setting of the table as its flag, with its variable', async () => {
    const shown = variablesByFlag(await signalHelp());
    for (const s of SIGNAL_SETTINGS) {
      expect(shown.has(s.flag), `--${s.flag} is missing from the help`).toBe(true);
      if ('env' in s) expect(shown.get(s.flag), `--${s.flag}`).toContain(s.env);
    }
  });

  it('shows every SIGNAL_* variable of .env.template beside its flag', async () => {
    const template = await fs.readFile(path.join(packageRoot(), '.env.template'), 'utf8');
    const variables = [...template.matchAll(/^(SIGNAL_[A-Z0-9_]*)=/gm)].map((m) => m[1]);
    expect(variables.length).toBeGreaterThan(10);
    const named = [...variablesByFlag(await signalHelp()).values()].flat();
    expect(variables.filter((name) => !named.includes(name ?? ''))).toEqual([]);
  });
});

describe('JSON events', () => {
  it('keep their names', () => {
    expect(EVENT_NAMES).toMatchSnapshot();
  });

  it('are each documented in the README', async () => {
    const readme = await fs.readFile(path.join(packageRoot(), 'README.md'), 'utf8');
    for (const name of EVENT_NAMES) expect(readme).toMatch(new RegExp(`\\| \`${name}\` *\\|`));
  });
});

describe('error codes', () => {
  it('are each in the README table with their exit status', async () => {
    const readme = await fs.readFile(path.join(packageRoot(), 'README.md'), 'utf8');
    const rows = readme.split('\n').filter((line) => line.startsWith('| `'));
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      const row = rows.find((r) => r.split('|')[1]?.includes(`\`${code}\``));
      expect(row, code).toBeDefined();
      expect(row?.split('|')[2]?.trim(), code).toBe(String(info.exit));
    }
  });
});

/** A size as the README writes it: `64 KiB`, `4 MiB`. */
function size(bytes: number): string {
  const MiB = 1024 * 1024;
  if (bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  throw new Error(`${bytes} bytes is no whole KiB: say how the README should round it`);
}

/** A duration as the README writes it: `20 s`. */
const seconds = (ms: number): string => `${ms / 1000} s`;

describe('named sizes and times', () => {
  /** Each sentence the README states, built from the constant it states, so a change to one shows in the other. */
  const statements: [constant: string, phrase: string][] = [
    ['MAX_SIGNAL_MESSAGE_BYTES', `validated on arrival, at most ${size(MAX_SIGNAL_MESSAGE_BYTES)} a message`],
    ['MAX_SIGNAL_MESSAGE_BYTES', `a message is at most ${size(MAX_SIGNAL_MESSAGE_BYTES)}`],
    // A DATA frame's payload leaves 16 spare bytes of the 256 KiB message for its header.
    ['CHUNK_SIZE', `a manifest, then ${size(CHUNK_SIZE + 16)} chunks`],
    ['SEND_HIGH_WATER', `queues while the channel's buffer is under ${size(SEND_HIGH_WATER)}`],
    ['RECEIVE_WINDOW', `the receiver grants a ${size(RECEIVE_WINDOW)} credit window`],
    ['RECEIVE_WINDOW', `the receiver's ${size(RECEIVE_WINDOW)} credit window bounds`],
    ['MAX_QUEUED_FRAMES', `the receiver's queue at ${MAX_QUEUED_FRAMES.toLocaleString('en-US')}`],
    ['PING_INTERVAL_MS', `Both sides ping every ${seconds(PING_INTERVAL_MS)}`],
    ['PEER_IDLE_TIMEOUT_MS', `give up on a peer silent for ${seconds(PEER_IDLE_TIMEOUT_MS)}`],
    ['PEER_IDLE_TIMEOUT_MS', `silent for ${seconds(PEER_IDLE_TIMEOUT_MS)}, or its channel closed`],
    ['STALL_TIMEOUT_MS', `\`--stall-timeout\` (${seconds(STALL_TIMEOUT_MS)};`],
    ['BLOCK_SIZE', `how many whole ${size(BLOCK_SIZE)} blocks are on disk`],
    ['MAX_TEXT_BYTES', `(\`--text\`) is capped at ${size(MAX_TEXT_BYTES)}`],
    ['MAX_TEXT_BYTES', `\`--text\` is over ${size(MAX_TEXT_BYTES)}`],
    ['MAX_NAME_BYTES', `at most ${MAX_NAME_BYTES} bytes), the whole under ${MAX_REL_PATH_BYTES} bytes`],
    ['KEEPALIVE_INTERVAL_MS', `a keepalive every ${seconds(KEEPALIVE_INTERVAL_MS)}`],
    ['FREEZE_LIMIT_MS', `froze inside libdatachannel for ${seconds(FREEZE_LIMIT_MS)}`],
    ['READ_SIZE', `The sender reads ${size(READ_SIZE)} at a time`],
    ['READ_SIZE', `two ${size(READ_SIZE)} read buffers under a ${size(SEND_HIGH_WATER)} send buffer`],
  ];

  it.each(statements)('the README states %s as the code has it: "%s"', async (_constant, phrase) => {
    const readme = await fs.readFile(path.join(packageRoot(), 'README.md'), 'utf8');
    // Line breaks in the README are only wrapping.
    const says = readme.replace(/\s+/g, ' ').includes(phrase);
    expect(says, `README.md no longer says "${phrase}"`).toBe(true);
  });
});
