/**
 * Where settings come from, and why a received file can no longer change
 * them: the attack of a `.env` planted by a transfer, replayed with real
 * processes, and the config files each program reads instead.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTree, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess, SignalHandle } from '../../src/testing/harness.js';
import { Harness, LOOPBACK } from '../../src/testing/harness.js';

const h = new Harness();
let server: SignalHandle;

beforeAll(async () => {
  server = await h.signalServer();
});
afterAll(() => h.cleanup());

/** Loopback ICE, and no --signal: where the server is must come from elsewhere. */
const LOCAL_ICE = ['--bind-address', LOOPBACK, '--ice-servers', ''];

/** An XDG_CONFIG_HOME with nothing in it, so the machine's own config stays out of the test. */
async function emptyConfigHome(): Promise<string> {
  return h.tempDir('peerlane-xdg-');
}

async function failsWith(proc: EventProcess, code: string, status = 1): Promise<void> {
  const exit = await proc.exit();
  expect(proc.error?.code, proc.stderr).toBe(code);
  expect(exit.code).toBe(status);
}

describe('a received .env', () => {
  it('cannot redirect the next `peer send` run in that folder: it prints its own code and waits', async () => {
    const home = await emptyConfigHome();
    const victim = await h.tempDir('peerlane-victim-');
    const loot = await h.tempDir('peerlane-attacker-');
    // The attacker waits for the victim's files under a code of its own...
    const trap = h.peer(['receive', '--yes', '--out', loot, ...server.peerArgs], {
      env: { XDG_CONFIG_HOME: home },
    });
    const { code: trapCode } = await trap.waitFor('ready');
    // ...and sends the victim a .env that names it, received into the victim's current folder.
    const planted = path.join(await h.tempDir('peerlane-planted-'), '.env');
    await fs.writeFile(planted, `PEER_CODE=${trapCode}\nSIGNALING_SERVER_ADDR=${server.host}\n`);
    const rx = h.peer(['receive', '--yes', '--allow-dotfiles', ...server.peerArgs], {
      cwd: victim,
      env: { XDG_CONFIG_HOME: home },
    });
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', planted, '--to', code, ...server.peerArgs], {
      env: { XDG_CONFIG_HOME: home },
    });
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    expect(await listTree(victim)).toEqual(['.env']);

    // Later, in that folder: `peer send tax.pdf`, with no --to and no PEER_CODE in the environment.
    const tax = path.join(victim, 'tax.pdf');
    await writeRandomFile(tax, 10_000);
    const send = h.peer(['send', 'tax.pdf', ...server.peerArgs], {
      cwd: victim,
      env: { XDG_CONFIG_HOME: home },
    });
    const ready = await send.waitFor('ready');
    expect(ready.code).not.toBe(trapCode);
    // Long enough for a send that had joined the trap to deliver 10 kB on loopback.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(send.events.map((e) => e.event)).not.toContain('connected');
    expect(await listTree(loot)).toEqual([]);
    send.kill('SIGKILL');
    trap.kill('SIGKILL');
  });
});

describe('received dotfiles', () => {
  it('--yes alone refuses them (DOTFILES_REFUSED) and writes nothing; the sender hears why', async () => {
    const out = await h.tempDir();
    const src = await h.tempDir('peerlane-src-');
    await fs.mkdir(path.join(src, 'project', '.git'), { recursive: true });
    await fs.writeFile(path.join(src, 'project', '.git', 'config'), '[core]\n\tfsmonitor = evil\n');
    await fs.writeFile(path.join(src, 'project', 'README'), 'hello\n');
    const rx = h.peer(['receive', '--yes', '--out', out, ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', path.join(src, 'project'), '--to', code, ...server.peerArgs]);
    await Promise.all([failsWith(rx, 'DOTFILES_REFUSED'), failsWith(tx, 'DOTFILES_REFUSED')]);
    expect(rx.stderr).toMatch(/Warning: 2 of these are dotfiles.*project\/\.git\/config/);
    expect(await listTree(out)).toEqual([]);
  });
});

describe('config files', () => {
  it('peer reads $XDG_CONFIG_HOME/peerlane/.env, and not the current folder', async () => {
    const home = await emptyConfigHome();
    await fs.mkdir(path.join(home, 'peerlane'));
    await fs.writeFile(
      path.join(home, 'peerlane', '.env'),
      `SIGNALING_SERVER_ADDR=${server.host}\nSIGNALING_SERVER_PORT=${server.port}\n`,
    );
    const here = await h.tempDir();
    // A stray .env in the current folder points nowhere useful, and is ignored.
    await fs.writeFile(path.join(here, '.env'), 'SIGNALING_SERVER_PORT=1\n');
    const rx = h.peer(['receive', '--yes', '--out', here, ...LOCAL_ICE], {
      cwd: here,
      env: { XDG_CONFIG_HOME: home },
    });
    expect((await rx.waitFor('ready')).code).toMatch(/^\d+-/);
    rx.kill('SIGKILL');
  });

  it('--config FILE is read instead; a missing one is BAD_CONFIG', async () => {
    const home = await emptyConfigHome();
    const file = path.join(await h.tempDir(), 'lane.env');
    await fs.writeFile(file, `SIGNALING_SERVER_ADDR=${server.host}\nSIGNALING_SERVER_PORT=${server.port}\n`);
    const rx = h.peer(['receive', '--yes', '--config', file, ...LOCAL_ICE], {
      env: { XDG_CONFIG_HOME: home },
    });
    expect((await rx.waitFor('ready')).code).toMatch(/^\d+-/);
    rx.kill('SIGKILL');
    const missing = h.peer(['receive', '--config', `${file}.nope`, ...LOCAL_ICE], {
      env: { XDG_CONFIG_HOME: home },
    });
    await failsWith(missing, 'BAD_CONFIG', 2);
  });

  it('a config file that sets PEER_CODE is refused: the code comes from the environment only', async () => {
    const home = await emptyConfigHome();
    await fs.mkdir(path.join(home, 'peerlane'));
    await fs.writeFile(path.join(home, 'peerlane', '.env'), 'PEER_CODE=7-orbit-lemon\n');
    const tx = h.peer(['send', path.join(home, 'peerlane', '.env'), ...server.peerArgs], {
      env: { XDG_CONFIG_HOME: home },
    });
    await failsWith(tx, 'BAD_CONFIG', 2);
    expect(tx.stderr).toContain('PEER_CODE');
  });

  it('the signal server reads the .env of the folder it starts in, or --config', async () => {
    const here = await h.tempDir();
    await fs.writeFile(
      path.join(here, '.env'),
      `SIGNALING_SERVER_ADDR=${LOOPBACK}\nSIGNALING_SERVER_PORT=0\n`,
    );
    const fromCwd = h.spawnScript('signal', ['--json'], { cwd: here });
    // Port 0 came from the file: not the default 8091.
    expect((await fromCwd.waitFor('listening')).port).not.toBe(8091);
    fromCwd.kill('SIGKILL');
    const file = path.join(here, 'other.env');
    await fs.writeFile(file, `SIGNALING_SERVER_ADDR=${LOOPBACK}\nSIGNALING_SERVER_PORT=0\n`);
    const fromFlag = h.spawnScript('signal', ['--json', '--config', file]);
    expect((await fromFlag.waitFor('listening')).port).not.toBe(8091);
    fromFlag.kill('SIGKILL');
  });
});
