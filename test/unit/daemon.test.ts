/**
 * The daemon's own parts in one process: its folders and socket, its
 * answers, a client that misbehaves, and its jobs file across a restart.
 * The swarm is injected here as a tiny in-process job (the CLI tests,
 * test/cli/daemon*.test.ts, run real swarm jobs).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PeerEvent } from '../../src/core/events.js';
import { callDaemon, daemonRunning } from '../../src/daemon/client.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { daemonPaths } from '../../src/daemon/paths.js';
import type { DaemonReply } from '../../src/daemon/protocol.js';
import { MAX_REQUEST_BYTES } from '../../src/daemon/protocol.js';
import type { JobRunner } from '../../src/daemon/runner.js';
import type { ShareOptions, SwarmJob, SwarmStatus } from '../../src/swarm/jobs.js';
import { useHarness } from '../../src/testing/hooks.js';

const h = useHarness({ afterEach });
const daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.close()));
});

const rtc = { iceServers: [], timeoutMs: 30_000 };
const signal = { host: '127.0.0.1', port: 9 };

/** A job that runs until stopped: enough to watch the daemon hold it. */
function tinyJob(id: string, kind: 'share' | 'get', ticket: string): SwarmJob {
  let end: (s: SwarmStatus) => void = () => {};
  let state: SwarmStatus['state'] = kind === 'share' ? 'seeding' : 'running';
  const status = (): SwarmStatus => ({
    id,
    kind,
    ticket,
    state,
    files: 1,
    totalBytes: 5,
    haveBytes: 5,
    uploadedBytes: 0,
    downloadedBytes: 0,
    peers: 0,
  });
  const done = new Promise<SwarmStatus>((resolve) => {
    end = resolve;
  });
  return {
    id,
    kind,
    ticket,
    done,
    status,
    stop: async () => {
      await new Promise((r) => setTimeout(r, 50)); // a swarm takes a moment to leave
      state = 'stopped';
      end(status());
    },
  };
}

/** A runner whose shares are named by their first path, and that remembers what it was asked. */
function tinyRunner(): JobRunner & { shares: ShareOptions[]; jobs: SwarmJob[] } {
  const shares: ShareOptions[] = [];
  const jobs: SwarmJob[] = [];
  return {
    shares,
    jobs,
    async startShare(options, events) {
      shares.push(options);
      events({ event: 'skipped', path: options.paths[0] ?? '', reason: 'hashing' });
      const hex = Buffer.from(options.secret ?? []).toString('hex');
      const job = tinyJob(`${path.basename(options.paths[0] ?? 'x')}s`, 'share', `ticket-${hex}`);
      jobs.push(job);
      return job;
    },
    async startGet(options) {
      return tinyJob('getjobg', 'get', options.source);
    },
  };
}

async function start(dir: string, runner: JobRunner = tinyRunner(), log: PeerEvent[] = []) {
  const paths = daemonPaths({}, dir);
  const { daemon, resumed } = await Daemon.start({
    paths,
    runner,
    log: { started: () => {}, event: (_job, e) => log.push(e), ended: () => {} },
  });
  daemons.push(daemon);
  return { daemon, paths, resumed };
}

const mode = async (p: string): Promise<string> => ((await fs.stat(p)).mode & 0o777).toString(8);

describe('folders and socket', () => {
  it('puts the socket in the per-user runtime folder, else under ~/.peerlane, and jobs where they outlive a reboot', () => {
    const home = path.join(os.homedir(), '.peerlane');
    expect(daemonPaths({ XDG_RUNTIME_DIR: '/run/user/1000' })).toEqual({
      dir: '/run/user/1000/peerlane',
      socket: '/run/user/1000/peerlane/daemon.sock',
      stateDir: path.join(home, 'state'),
    });
    expect(daemonPaths({})).toEqual({
      dir: path.join(home, 'run'),
      socket: path.join(home, 'run', 'daemon.sock'),
      stateDir: path.join(home, 'state'),
    });
    // A folder named with --daemon-dir holds that daemon's all, wherever the command ran.
    expect(daemonPaths({ XDG_RUNTIME_DIR: '/run/user/1000' }, 'here')).toEqual({
      dir: path.resolve('here'),
      socket: path.resolve('here', 'daemon.sock'),
      stateDir: path.resolve('here', 'state'),
    });
  });

  it('refuses a socket path too long to bind, with BAD_CONFIG naming --daemon-dir', async () => {
    const dir = path.join(await h.tempDir('peerlane-d-'), 'x'.repeat(100));
    await expect(start(dir)).rejects.toMatchObject({ code: 'BAD_CONFIG', message: /--daemon-dir/ });
  });

  it('makes its folders 0700 and its socket 0600, and removes the socket when it stops', async () => {
    const dir = path.join(await h.tempDir('peerlane-d-'), 'run');
    const { daemon, paths } = await start(dir);
    expect(await mode(paths.dir)).toBe('700');
    expect(await mode(paths.stateDir)).toBe('700');
    expect(await mode(paths.socket)).toBe('600');
    expect(await daemonRunning(paths)).toBe(true);
    await daemon.close();
    await expect(fs.stat(paths.socket)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await daemonRunning(paths)).toBe(false);
  });

  it('refuses a folder open to others, or owned by another user, with DAEMON_DIR_UNSAFE', async () => {
    const dir = await h.tempDir('peerlane-d-');
    await fs.chmod(dir, 0o755);
    await expect(start(dir)).rejects.toMatchObject({ code: 'DAEMON_DIR_UNSAFE' });
    await expect(callDaemon(daemonPaths({}, dir), { type: 'status' })).rejects.toMatchObject({
      code: 'DAEMON_DIR_UNSAFE',
    });
    if (process.getuid?.() === 0) {
      await fs.chmod(dir, 0o700);
      await fs.chown(dir, 65534, 65534);
      await expect(start(dir)).rejects.toMatchObject({ code: 'DAEMON_DIR_UNSAFE', message: /uid 65534/ });
    }
  });

  it('replaces a socket left by a daemon that died, but not a live one (DAEMON_RUNNING)', async () => {
    const dir = await h.tempDir('peerlane-d-');
    await fs.chmod(dir, 0o700);
    const socket = path.join(dir, 'daemon.sock');
    // What a daemon killed with -9 leaves: the socket file, and nobody listening on it.
    const holder = spawn(process.execPath, [
      '-e',
      'require("net").createServer().listen(process.argv[1])',
      socket,
    ]);
    await expect
      .poll(() =>
        fs.stat(socket).then(
          () => true,
          () => false,
        ),
      )
      .toBe(true);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.once('exit', r));
    expect((await fs.lstat(socket)).isSocket()).toBe(true);
    const { paths } = await start(dir);
    expect(await daemonRunning(paths)).toBe(true);
    await expect(start(dir)).rejects.toMatchObject({ code: 'DAEMON_RUNNING' });
    expect(await daemonRunning(paths)).toBe(true);
  });

  it("refuses to remove a file in the socket's place that is not a socket", async () => {
    const dir = await h.tempDir('peerlane-d-');
    await fs.chmod(dir, 0o700);
    await fs.writeFile(path.join(dir, 'daemon.sock'), 'mine');
    await expect(start(dir)).rejects.toMatchObject({ code: 'DAEMON_DIR_UNSAFE' });
    expect(await fs.readFile(path.join(dir, 'daemon.sock'), 'utf8')).toBe('mine');
  });

  it('without a daemon the CLI side says DAEMON_NOT_RUNNING', async () => {
    const dir = await h.tempDir('peerlane-d-');
    await fs.chmod(dir, 0o700);
    await expect(callDaemon(daemonPaths({}, dir), { type: 'status' })).rejects.toMatchObject({
      code: 'DAEMON_NOT_RUNNING',
    });
    await expect(
      callDaemon(daemonPaths({}, path.join(dir, 'none')), { type: 'status' }),
    ).rejects.toMatchObject({
      code: 'DAEMON_NOT_RUNNING',
    });
  });
});

describe('requests', () => {
  it('starts a share, relays its events to the requester, lists it, and stops it for good', async () => {
    const runner = tinyRunner();
    const { paths } = await start(await h.tempDir('peerlane-d-'), runner);
    const seen: DaemonReply[] = [];
    const [shared] = await callDaemon(
      paths,
      { type: 'share', paths: ['/data/album'], options: { signal, rtc } },
      { onReply: (r) => seen.push(r) },
    );
    expect(shared).toMatchObject({ id: 'albums', state: 'seeding' });
    expect(seen.map((r) => r.type)).toEqual(['event', 'ok']);
    expect(await callDaemon(paths, { type: 'status' })).toEqual([shared]);
    // The same content again: the one running answers, under its ticket, and the newcomer is stopped.
    const again = await callDaemon(paths, {
      type: 'share',
      paths: ['/data/album'],
      options: { signal, rtc },
    });
    expect(again).toEqual([shared]);
    expect(runner.jobs.map((j) => j.status().state)).toEqual(['seeding', 'stopped']);
    expect(await callDaemon(paths, { type: 'status' })).toEqual([shared]);
    const [stopped] = await callDaemon(paths, { type: 'stop', id: 'albums' });
    expect(stopped).toMatchObject({ id: 'albums', state: 'stopped' });
    // It reads as stopped for a while, and stopping it again says the same.
    expect(await callDaemon(paths, { type: 'status' })).toEqual([stopped]);
    expect(await callDaemon(paths, { type: 'stop', id: 'albums' })).toEqual([stopped]);
    await expect(callDaemon(paths, { type: 'stop', id: 'nones' })).rejects.toMatchObject({
      code: 'JOB_NOT_FOUND',
    });
  });

  it('streams events and the end of a job to a follower, then closes', async () => {
    const { paths } = await start(await h.tempDir('peerlane-d-'));
    await callDaemon(paths, { type: 'share', paths: ['/data/a'], options: { signal, rtc } });
    const all: DaemonReply[] = [];
    const abort = new AbortController();
    const everything = callDaemon(
      paths,
      { type: 'follow' },
      { onReply: (r) => all.push(r), abort: abort.signal },
    );
    const one: DaemonReply[] = [];
    const following = callDaemon(paths, { type: 'follow', id: 'as' }, { onReply: (r) => one.push(r) });
    await expect.poll(() => one.length + all.length).toBe(2); // both got their snapshot
    await callDaemon(paths, { type: 'share', paths: ['/data/b'], options: { signal, rtc } });
    await callDaemon(paths, { type: 'stop', id: 'as' });
    await following;
    expect(one.map((r) => r.type)).toEqual(['ok', 'ended']);
    await expect.poll(() => all.map((r) => r.type)).toEqual(['ok', 'event', 'ended']);
    // Following every job never ends by itself: the client leaves.
    abort.abort();
    await expect(everything).rejects.toMatchObject({ code: 'INTERRUPTED' });
  });

  it('drops a client that sends garbage, a second request or an endless line, and serves the next one', async () => {
    const { paths } = await start(await h.tempDir('peerlane-d-'));
    const cases: [string, string][] = [
      ['this is not json\n', 'BAD_MESSAGE'],
      [`${JSON.stringify({ v: 1, type: 'status' })}\nmore\n`, 'BAD_MESSAGE'],
      // A line that never ends is cut off at the limit rather than held.
      ['x'.repeat(MAX_REQUEST_BYTES + 1), 'MESSAGE_TOO_LARGE'],
    ];
    for (const [bytes, code] of cases) {
      const socket = net.connect(paths.socket);
      socket.write(bytes);
      let answer = '';
      socket.on('data', (c: Buffer) => {
        answer += c.toString();
      });
      await new Promise((r) => socket.once('close', r));
      expect(answer).toContain(`"type":"error","code":"${code}"`);
    }
    expect(await callDaemon(paths, { type: 'status' })).toEqual([]);
  });

  it('stops on a shutdown request, keeping its jobs for the next daemon', async () => {
    const dir = await h.tempDir('peerlane-d-');
    const runner = tinyRunner();
    const { daemon, paths } = await start(dir, runner);
    const [first] = await callDaemon(paths, { type: 'share', paths: ['/data/a'], options: { signal, rtc } });
    await callDaemon(paths, { type: 'shutdown' });
    // The answer comes once the daemon is done: its jobs stopped, its socket gone.
    expect(runner.jobs.map((j) => j.status().state)).toEqual(['stopped']);
    await expect(fs.stat(paths.socket)).rejects.toMatchObject({ code: 'ENOENT' });
    await daemon.stopped;
    expect(await daemonRunning(paths)).toBe(false);
    const jobs = path.join(paths.stateDir, 'jobs.json');
    expect(await mode(jobs)).toBe('600');
    const { resumed } = await start(dir, runner);
    expect(await resumed).toBe(1);
    const [again] = await callDaemon(paths, { type: 'status' });
    // The same secret, so the same ticket: whoever holds it still gets the content.
    expect(again?.ticket).toBe(first?.ticket);
    expect(runner.shares[1]?.secret).toEqual(runner.shares[0]?.secret);
    expect(runner.shares[1]?.paths).toEqual(['/data/a']);
  });
});
