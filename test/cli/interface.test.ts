/**
 * The CLI's stable surface: `--help` text, the JSON event names, and the
 * progress bars as a terminal sees them.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { EVENT_NAMES } from '../../src/events.js';
import { entryPoint, packageRoot } from '../../src/project.js';
import { writeRandomFile } from '../../src/testing/files.js';
import type { SignalHandle } from '../../src/testing/harness.js';
import { Harness } from '../../src/testing/harness.js';

const run = promisify(execFile);
const entry = entryPoint('peer');
/** Help must not depend on who runs it: no settings from the environment. */
const cleanEnv: NodeJS.ProcessEnv = {
  ...process.env,
  SIGNALING_SERVER_ADDR: undefined,
  SIGNALING_SERVER_PORT: undefined,
  PEER_BIND_ADDRESS: undefined,
  PEER_CONNECT_TIMEOUT: undefined,
  PEER_MTU: undefined,
  ICE_SERVERS: undefined,
  COLUMNS: undefined,
};

async function help(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [entry, ...args], { env: cleanEnv, cwd: packageRoot() });
  return stdout;
}

describe('help', () => {
  it.each([[['--help']], [['send', '--help']], [['receive', '--help']], [['list', '--help']]])(
    'peer %j',
    async (args) => {
      expect(await help(args)).toMatchSnapshot();
    },
  );

  it('every command shows examples', async () => {
    for (const cmd of ['send', 'receive', 'list']) expect(await help([cmd, '--help'])).toContain('Examples:');
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

describe('progress bars in a terminal', () => {
  const h = new Harness();
  let server: SignalHandle;
  beforeAll(async () => {
    server = await h.signalServer();
  });
  afterAll(() => h.cleanup());

  it('draw a bar per file and a total, and finish at 100%', async () => {
    const src = await h.tempDir();
    await writeRandomFile(path.join(src, 'one.bin'), 6 * 1024 * 1024);
    await writeRandomFile(path.join(src, 'two.bin'), 3 * 1024 * 1024);
    const rx = h.peer(['receive', '--out', await h.tempDir(), '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const command = [process.execPath, entry, 'send', 'one.bin', 'two.bin', '--to', code, ...server.peerArgs]
      .map((a) => `'${a}'`)
      .join(' ');
    // script(1) gives the sender a pseudo-terminal, as a person would have.
    const tty = spawn('script', ['-qfec', command, '/dev/null'], {
      cwd: src,
      env: { ...cleanEnv, COLUMNS: '120' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    tty.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
    });
    const status = await new Promise((resolve) => tty.on('exit', resolve));
    expect(status, screen).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    expect(screen).toMatch(/100% \| 9\.4 MB \/ 9\.4 MB .*\| total/);
    expect(screen).toMatch(/100% \| 6\.3 MB \/ 6\.3 MB \| one\.bin/);
    expect(screen).toMatch(/100% \| 3\.1 MB \/ 3\.1 MB \| two\.bin/);
    expect(screen).toMatch(/done +6\.3 MB +one\.bin/);
    expect(screen).toMatch(/done +3\.1 MB +two\.bin/);
    expect(screen).toContain('Sent 2 files, 9.4 MB');
  }, 30_000);
});
