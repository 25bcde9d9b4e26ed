/**
 * The daemon holding real swarm jobs, as real processes on loopback: a share
 * handed to one `peer daemon`, a get handed to another, followed with
 * `peer status --follow --json` until it completes verified; the share
 * served again under the same ticket after its daemon restarts; `peer stop`
 * ending a job for good. Requests go through the CLI's own client
 * (daemon/client.ts), as `peer share` and `peer get` send them.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { callDaemon } from '../../src/daemon/client.js';
import { daemonPaths } from '../../src/daemon/paths.js';
import type { SwarmStatus } from '../../src/swarm/jobs.js';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess } from '../../src/testing/harness.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';

const { h, server } = useSignalServer({ beforeEach, afterEach });
const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
const CHUNK = 64 * 1024;

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
  await writeRandomFile(file, 20 * CHUNK + 17);
  return { folder, file };
}

function share(dir: string, folder: string): Promise<SwarmStatus[]> {
  return callDaemon(daemonPaths({}, dir), {
    type: 'share',
    paths: [folder],
    options: { signal: { host: server.host, port: server.port }, rtc, chunkSize: CHUNK },
  });
}

/** A get handed to the daemon on `dir`, followed by `peer status --follow --json` until it ends. */
async function getThrough(dir: string, ticket: string, out: string): Promise<EventProcess> {
  const [job] = await callDaemon(daemonPaths({}, dir), {
    type: 'get',
    source: ticket,
    out,
    options: { signal: { host: server.host, port: server.port }, rtc },
  });
  const follow = h.peer(['status', job?.id ?? '', '--follow', '--daemon-dir', dir]);
  expect((await follow.exit()).code).toBe(0);
  return follow;
}

describe('peer daemon with swarm jobs', () => {
  it('serves a share it was handed: a get in another daemon completes verified, and a follower sees it until `peer stop`', async () => {
    const { folder, file } = await content();
    const sharer = path.join(await h.tempDir('peerlane-d-'), 'a');
    await daemon(sharer);
    const [shared] = await share(sharer, folder);
    expect(shared).toMatchObject({ kind: 'share', state: 'seeding', files: 1, totalBytes: 20 * CHUNK + 17 });
    const status = h.peer(['status', '--daemon-dir', sharer]);
    await status.exit();
    expect(lines(status)).toEqual([{ event: 'job', ...shared }]);
    const follower = h.peer(['status', shared?.id ?? '', '--follow', '--daemon-dir', sharer]);
    await expect.poll(() => lines(follower).length).toBe(1); // the snapshot: it follows from now on

    const getter = path.join(await h.tempDir('peerlane-d-'), 'b');
    await daemon(getter);
    const out = await h.tempDir('peerlane-out-');
    const got = await getThrough(getter, shared?.ticket ?? '', out);
    expect(lines(got).at(-1)).toMatchObject({
      event: 'job',
      kind: 'get',
      state: 'done',
      haveBytes: 20 * CHUNK + 17,
    });
    expect(await sha256File(path.join(out, 'album', 'a.bin'))).toBe(await sha256File(file));
    // The share's own events reached its follower, under its id.
    await expect
      .poll(() => lines(follower).find((e) => e.event === 'swarm-peer'))
      .toMatchObject({ job: shared?.id, joined: true });

    const stop = h.peer(['stop', shared?.id ?? '', '--daemon-dir', sharer]);
    expect((await stop.exit()).code).toBe(0);
    expect(lines(stop)).toEqual([
      expect.objectContaining({ event: 'job', id: shared?.id, state: 'stopped' }),
    ]);
    expect((await follower.exit()).code).toBe(0);
    expect(lines(follower).at(-1)).toMatchObject({ event: 'job', id: shared?.id, state: 'stopped' });
  });

  it('serves the same ticket after a restart, and forgets a job `peer stop` ended', async () => {
    const { folder, file } = await content();
    const sharer = path.join(await h.tempDir('peerlane-d-'), 'a');
    const first = await daemon(sharer);
    const [shared] = await share(sharer, folder);
    first.kill('SIGTERM');
    expect((await first.exit()).code).toBe(0);

    const second = await daemon(sharer);
    await expect.poll(() => lines(second).some((e) => e.event === 'job'), { timeout: 20_000 }).toBe(true);
    expect(lines(second).find((e) => e.event === 'job')).toMatchObject({
      ticket: shared?.ticket,
      state: 'seeding',
    });
    const getter = path.join(await h.tempDir('peerlane-d-'), 'b');
    await daemon(getter);
    const out = await h.tempDir('peerlane-out-');
    await getThrough(getter, shared?.ticket ?? '', out);
    expect(await sha256File(path.join(out, 'album', 'a.bin'))).toBe(await sha256File(file));

    const stop = h.peer(['stop', shared?.id ?? '', '--daemon-dir', sharer]);
    expect((await stop.exit()).code).toBe(0);
    expect(lines(stop)).toEqual([
      expect.objectContaining({ event: 'job', id: shared?.id, state: 'stopped' }),
    ]);
    second.kill('SIGTERM');
    await second.exit();
    const third = await daemon(sharer);
    const after = h.peer(['status', '--daemon-dir', sharer]);
    await after.exit();
    expect(lines(after)).toEqual([]);
    third.kill('SIGTERM');
  });
});
