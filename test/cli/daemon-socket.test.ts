/**
 * `peer daemon` as a real process, on the parts that need no swarm: its
 * socket is this user's alone (modes, and a second uid refused), a folder
 * open to others is refused, a client sending garbage is dropped while the
 * next is served, and SIGTERM stops it cleanly. Shares and gets through it
 * are daemon.test.ts.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventProcess } from '../../src/testing/harness.js';
import { useHarness } from '../../src/testing/hooks.js';

const h = useHarness({ afterEach });
const run = promisify(execFile);

/** A daemon in a fresh folder, once it listens. */
async function daemon(): Promise<{ proc: EventProcess; dir: string; socket: string }> {
  const dir = path.join(await h.tempDir('peerlane-daemon-'), 'run');
  const proc = h.peer(['daemon', '--daemon-dir', dir]);
  await expect
    .poll(
      () =>
        proc.events.some((e) => (e as { event: string }).event === 'daemon') || proc.child.exitCode !== null,
      {
        timeout: 10_000,
      },
    )
    .toBe(true);
  expect(proc.stderr).toBe('');
  return { proc, dir, socket: path.join(dir, 'daemon.sock') };
}

const mode = async (p: string): Promise<string> => ((await fs.stat(p)).mode & 0o777).toString(8);

/** What a connect to `socket` as uid/gid 65534 (nobody) gets: `connected`, or the errno. */
async function connectAsNobody(socket: string): Promise<string> {
  const script =
    "require('net').connect(process.argv[1]).on('connect', () => { console.log('connected'); process.exit(0) })" +
    ".on('error', (e) => { console.log(e.code); process.exit(0) })";
  const args = ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script, socket];
  return (await run('setpriv', args)).stdout.trim();
}

describe('peer daemon', () => {
  it('keeps its socket 0600 in a 0700 folder, and stops cleanly on SIGTERM, removing it', async () => {
    const { proc, dir, socket } = await daemon();
    expect(await mode(dir)).toBe('700');
    expect(await mode(socket)).toBe('600');
    expect(await mode(path.join(dir, 'state'))).toBe('700');
    proc.kill('SIGTERM');
    expect((await proc.exit()).code).toBe(0);
    await expect(fs.stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('peer daemon --stop stops it and removes its socket; a second --stop finds none', async () => {
    const { proc, dir, socket } = await daemon();
    const stop = h.peer(['daemon', '--stop', '--daemon-dir', dir]);
    expect((await stop.exit()).code).toBe(0);
    expect((await proc.exit()).code).toBe(0);
    await expect(fs.stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
    const again = h.peer(['daemon', '--stop', '--daemon-dir', dir]);
    expect((await again.exit()).code).toBe(1);
    expect(again.error?.code).toBe('DAEMON_NOT_RUNNING');
  });

  it.skipIf(process.getuid?.() !== 0)(
    'refuses another local user, by the folder and by the socket itself',
    async () => {
      const { dir, socket } = await daemon();
      expect(await connectAsNobody(socket)).toBe('EACCES');
      // Even if the folder were opened for passing through, the socket's own mode refuses.
      await fs.chmod(dir, 0o711);
      expect(await connectAsNobody(socket)).toBe('EACCES');
      await fs.chmod(dir, 0o700);
    },
  );

  it('refuses a folder open to others with DAEMON_DIR_UNSAFE, and starts in none', async () => {
    const dir = await h.tempDir('peerlane-daemon-');
    await fs.chmod(dir, 0o755);
    const proc = h.peer(['daemon', '--daemon-dir', dir]);
    expect((await proc.exit()).code).toBe(1);
    expect(proc.error?.code).toBe('DAEMON_DIR_UNSAFE');
    expect(proc.stderr).toMatch(/peer: DAEMON_DIR_UNSAFE: .*mode 755/);
    await expect(fs.stat(path.join(dir, 'daemon.sock'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('drops a client that sends garbage, and answers the next', async () => {
    const { dir, socket } = await daemon();
    const rogue = net.connect(socket);
    let answer = '';
    rogue.on('data', (c: Buffer) => {
      answer += c.toString();
    });
    rogue.write('\u0000garbage{\n');
    await new Promise((r) => rogue.once('close', r));
    expect(answer).toMatch(/"type":"error","code":"BAD_MESSAGE"/);
    const status = h.peer(['status', '--daemon-dir', dir]);
    expect((await status.exit()).code).toBe(0);
    expect(status.events).toEqual([]);
    expect(status.stderr).toBe('');
  });

  it('status and stop without a daemon: DAEMON_NOT_RUNNING; stop of an unknown job: JOB_NOT_FOUND', async () => {
    const dir = path.join(await h.tempDir('peerlane-daemon-'), 'none');
    const status = h.peer(['status', '--daemon-dir', dir]);
    expect((await status.exit()).code).toBe(1);
    expect(status.error?.code).toBe('DAEMON_NOT_RUNNING');
    const running = await daemon();
    const stop = h.peer(['stop', 'a1b2c3d4e5f6s', '--daemon-dir', running.dir]);
    expect((await stop.exit()).code).toBe(1);
    expect(stop.error?.code).toBe('JOB_NOT_FOUND');
    const second = h.peer(['daemon', '--daemon-dir', running.dir]);
    expect((await second.exit()).code).toBe(1);
    expect(second.error?.code).toBe('DAEMON_RUNNING');
  });
});
