/**
 * The daemon holding real swarm jobs, as real processes on loopback:
 * `peer share` hands its job to a running `peer daemon` and exits, and a
 * `peer get` in another process fetches it verified; `peer status --follow
 * --json` streams the job's events until `peer stop` ends it; after its
 * daemon is killed (-9) and started again the share is served under the
 * same ticket, to a get handed to a second daemon with --daemon. The
 * daemon's socket and folders without a swarm are daemon-socket.test.ts.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';

const { h, server } = useSignalServer({ beforeEach, afterEach });
const CHUNK = 64 * 1024;
const SIZE = 20 * CHUNK + 17;

/** A JSON line of a daemon command, whatever its event. */
type Line = { event: string } & Record<string, unknown>;
const lines = (p: EventProcess): Line[] => p.events as unknown as Line[];

/** `peer daemon` on `dir`, once it listens. */
async function daemon(dir: string): Promise<EventProcess> {
  const proc = h.peer(['daemon', '--daemon-dir', dir]);
  await expect
    .poll(() => lines(proc).some((e) => e.event === 'daemon') || proc.child.exitCode !== null, {
      timeout: 10_000,
    })
    .toBe(true);
  return proc;
}

async function content(): Promise<{ folder: string; file: string }> {
  const folder = path.join(await h.tempDir('peerlane-share-'), 'album');
  await fs.mkdir(folder);
  const file = path.join(folder, 'a.bin');
  await writeRandomFile(file, SIZE);
  return { folder, file };
}

/** `peer share` run from the folder's parent (a relative path: the CLI makes it absolute); exits once the daemon holds it. */
async function shareThrough(dir: string, folder: string): Promise<Line> {
  const share = h.peer(
    ['share', 'album', '--chunk-size', String(CHUNK), '--daemon-dir', dir, ...server.peerArgs],
    {
      cwd: path.dirname(folder),
    },
  );
  expect((await share.exit()).code, share.stderr).toBe(0);
  const job = lines(share).find((e) => e.event === 'job');
  expect(job).toMatchObject({ kind: 'share', state: 'seeding', files: 1, totalBytes: SIZE });
  // The job's own events came first, under its id: the same share-ready as without a daemon.
  expect(lines(share).find((e) => e.event === 'share-ready')).toMatchObject({
    ticket: job?.ticket,
    job: job?.id,
  });
  return job ?? { event: 'none' };
}

describe('peer daemon with swarm jobs', () => {
  it('peer share hands its job to the daemon and exits; a peer get elsewhere completes verified; a follower sees it to peer stop', async () => {
    const { folder, file } = await content();
    const sharer = path.join(await h.tempDir('peerlane-d-'), 'a');
    await daemon(sharer);
    const shared = await shareThrough(sharer, folder);
    const follower = h.peer(['status', String(shared.id), '--follow', '--daemon-dir', sharer]);
    await expect.poll(() => lines(follower).length).toBe(1); // the snapshot: it follows from now on

    const out = await h.tempDir('peerlane-out-');
    const get = h.peer(['get', String(shared.ticket), '--out', out, '--no-daemon', ...server.peerArgs]);
    expect((await get.exit()).code, get.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'album', 'a.bin'))).toBe(await sha256File(file));
    // The share's own events reached its follower, under its id.
    await expect
      .poll(() => lines(follower).find((e) => e.event === 'swarm-peer'))
      .toMatchObject({ job: shared.id, joined: true });

    const stop = h.peer(['stop', String(shared.id), '--daemon-dir', sharer]);
    expect((await stop.exit()).code).toBe(0);
    expect(lines(stop)).toEqual([expect.objectContaining({ event: 'job', id: shared.id, state: 'stopped' })]);
    expect((await follower.exit()).code).toBe(0);
    expect(lines(follower).at(-1)).toMatchObject({ event: 'job', id: shared.id, state: 'stopped' });
  });

  it('serves the same ticket after a kill -9 and a restart, to a get handed to another daemon; a stopped job is not resumed', async () => {
    const { folder, file } = await content();
    const sharer = path.join(await h.tempDir('peerlane-d-'), 'a');
    const first = await daemon(sharer);
    const shared = await shareThrough(sharer, folder);
    // The hardest way to go: no chance to save or tidy anything, and the socket file stays behind.
    first.kill('SIGKILL');
    await first.exit();
    expect((await fs.lstat(path.join(sharer, 'daemon.sock'))).isSocket()).toBe(true);

    const second = await daemon(sharer);
    await expect.poll(() => lines(second).some((e) => e.event === 'job'), { timeout: 20_000 }).toBe(true);
    expect(lines(second).find((e) => e.event === 'job')).toMatchObject({
      ticket: shared.ticket,
      state: 'seeding',
    });
    const getter = path.join(await h.tempDir('peerlane-d-'), 'b');
    await daemon(getter);
    const out = await h.tempDir('peerlane-out-');
    const get = h.peer([
      'get',
      String(shared.ticket),
      '--out',
      out,
      '--daemon',
      '--daemon-dir',
      getter,
      ...server.peerArgs,
    ]);
    expect((await get.exit()).code, get.stderr).toBe(0);
    const job = lines(get).find((e) => e.event === 'job');
    expect(job).toMatchObject({ kind: 'get', out });
    const follow = h.peer(['status', String(job?.id), '--follow', '--daemon-dir', getter]);
    expect((await follow.exit()).code).toBe(0);
    expect(lines(follow).at(-1)).toMatchObject({ event: 'job', state: 'done', haveBytes: SIZE });
    expect(await sha256File(path.join(out, 'album', 'a.bin'))).toBe(await sha256File(file));

    expect((await h.peer(['stop', String(shared.id), '--daemon-dir', sharer]).exit()).code).toBe(0);
    second.kill('SIGTERM');
    await second.exit();
    await daemon(sharer);
    const after = h.peer(['status', '--daemon-dir', sharer]);
    await after.exit();
    expect(lines(after)).toEqual([]);
  });

  it('--daemon without a daemon: DAEMON_NOT_RUNNING, and nothing fetched', async () => {
    const dir = path.join(await h.tempDir('peerlane-d-'), 'none');
    const out = path.join(await h.tempDir('peerlane-out-'), 'dl');
    const get = h.peer(['get', 'peerlane-swarm:whatever', '--out', out, '--daemon', '--daemon-dir', dir]);
    expect((await get.exit()).code).toBe(1);
    expect(get.error?.code).toBe('DAEMON_NOT_RUNNING');
    await expect(fs.stat(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
