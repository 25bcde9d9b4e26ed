/**
 * The CLI's stable surface: `--help` text, the JSON event names and the
 * error codes. (The progress bars as a terminal sees them: progress-tty.test.ts.)
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PEER_SETTINGS } from '../../src/cli/peer-settings.js';
import { ERROR_CODES } from '../../src/core/errors.js';
import { EVENT_NAMES } from '../../src/core/events.js';
import { entryPoint, packageRoot } from '../../src/project.js';

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
