/** The daemon's wire messages and jobs file: what parses, and what is refused with which code. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getRequest, shareRequest } from '../../src/cli/daemon-commands.js';
import { TICKET_PREFIX } from '../../src/core/swarm/ticket.js';
import type { RequestBody } from '../../src/daemon/protocol.js';
import {
  DAEMON_PROTOCOL_VERSION,
  encodeDaemonMessage,
  MAX_SHARE_PATHS,
  parseDaemonReply,
  parseDaemonRequest,
} from '../../src/daemon/protocol.js';
import type { StoredJob } from '../../src/daemon/store.js';
import { JobStore } from '../../src/daemon/store.js';
import type { RtcOptions } from '../../src/rtc/connect.js';
import { useHarness } from '../../src/testing/hooks.js';
import { codeOf } from '../helpers.js';

const h = useHarness({ afterEach });

const rtc: RtcOptions = {
  iceServers: ['stun:127.0.0.1:9', { hostname: '127.0.0.1', port: 9 }],
  timeoutMs: 30_000,
};
const signal = { host: '127.0.0.1', port: 8091 };
const share: Extract<RequestBody, { type: 'share' }> = {
  type: 'share',
  paths: ['/tmp/a', '/tmp/b c'],
  options: { signal, rtc, seedForMs: 60_000, ticket: 'peerlane-swarm:AQ' },
};

/** `msg` as one line on the wire, without its newline. */
function line(msg: Record<string, unknown>): string {
  return JSON.stringify({ v: DAEMON_PROTOCOL_VERSION, ...msg });
}

describe('requests', () => {
  it('round-trips every kind through the encoder', () => {
    const requests: RequestBody[] = [
      share,
      { type: 'get', source: 'ticket-text', out: '/tmp/out', options: { rtc, overwrite: true, seed: false } },
      { type: 'status' },
      { type: 'status', id: 'a1b2c3d4e5f6s' },
      { type: 'follow' },
      { type: 'stop', id: 'a1b2c3d4e5f6g' },
      { type: 'shutdown' },
    ];
    for (const r of requests) {
      const wire = encodeDaemonMessage(r);
      expect(wire.endsWith('\n')).toBe(true);
      expect(parseDaemonRequest(wire.trimEnd())).toEqual({ v: DAEMON_PROTOCOL_VERSION, ...r });
    }
  });

  it.each([
    ['garbage', 'not json'],
    ['an unknown kind', line({ type: 'launch' })],
    ['a relative path', line({ ...share, paths: ['notes.txt'] })],
    ['no paths', line({ ...share, paths: [] })],
    [
      'too many paths',
      line({ ...share, paths: Array.from({ length: MAX_SHARE_PATHS + 1 }, (_, i) => `/p${i}`) }),
    ],
    ['a relative --out', line({ type: 'get', source: 't', out: 'dl', options: { rtc } })],
    ['a bad job id', line({ type: 'stop', id: '../x' })],
    ['stop without an id', line({ type: 'stop' })],
    ['a bad ICE server', line({ ...share, options: { signal, rtc: { ...rtc, iceServers: [42] } } })],
    ['a negative seed time', line({ ...share, options: { signal, rtc, seedForMs: -1 } })],
    ['a bad transport', line({ ...share, options: { signal, rtc: { ...rtc, transport: 'quic' } } })],
  ])('refuses %s with BAD_MESSAGE', (_label, raw) => {
    expect(codeOf(() => parseDaemonRequest(raw))).toBe('BAD_MESSAGE');
  });

  it('tells another version apart, so that an old CLI is told to upgrade', () => {
    expect(codeOf(() => parseDaemonRequest(JSON.stringify({ v: 99, type: 'status' })))).toBe(
      'VERSION_MISMATCH',
    );
  });
});

describe('replies', () => {
  const status = {
    id: 'a1b2c3d4e5f6s',
    kind: 'share',
    ticket: 'T',
    state: 'seeding',
    files: 1,
    totalBytes: 10,
    haveBytes: 10,
    uploadedBytes: 0,
    downloadedBytes: 0,
    peers: 0,
  } as const;

  it('parses ok, event, ended and error', () => {
    expect(parseDaemonReply(line({ type: 'ok', jobs: [status] }))).toMatchObject({ jobs: [status] });
    const event = { event: 'error', code: 'PEER_LOST', message: 'gone' };
    expect(parseDaemonReply(line({ type: 'event', job: status.id, event }))).toMatchObject({ event });
    expect(parseDaemonReply(line({ type: 'ended', status: { ...status, state: 'done' } }))).toMatchObject({
      status: { state: 'done' },
    });
    expect(parseDaemonReply(line({ type: 'error', code: 'JOB_NOT_FOUND', message: 'no' }))).toMatchObject({
      code: 'JOB_NOT_FOUND',
    });
  });

  it('reads an error code it does not know as REMOTE_ERROR', () => {
    expect(parseDaemonReply(line({ type: 'error', code: 'NEWER_CODE', message: 'x' }))).toMatchObject({
      code: 'REMOTE_ERROR',
    });
  });

  it.each([
    ['an unknown event', line({ type: 'event', job: status.id, event: { event: 'launch' } })],
    ['a status with a bad state', line({ type: 'ok', jobs: [{ ...status, state: 'busy' }] })],
    ['a status without a count', line({ type: 'ok', jobs: [{ ...status, peers: undefined }] })],
  ])('refuses %s with BAD_MESSAGE', (_label, raw) => {
    expect(codeOf(() => parseDaemonReply(raw))).toBe('BAD_MESSAGE');
  });
});

describe('the jobs file', () => {
  const stored: StoredJob = {
    id: 'a1b2c3d4e5f6s',
    kind: 'share',
    paths: ['/tmp/a'],
    options: { signal, rtc },
    secret: '00112233445566778899aabbccddeeff',
  };

  it('saves atomically with mode 0600 and loads what it saved', async () => {
    const dir = await h.tempDir('peerlane-store-');
    const store = new JobStore(dir);
    expect(await store.load()).toEqual([]);
    await store.save([stored]);
    expect(((await fs.stat(store.file)).mode & 0o777).toString(8)).toBe('600');
    expect(await store.load()).toEqual([stored]);
    expect(await fs.readdir(dir)).toEqual(['jobs.json']); // no temporary file left behind
  });

  it('refuses a damaged file with BAD_CONFIG, naming it, rather than dropping its jobs', async () => {
    const dir = await h.tempDir('peerlane-store-');
    const store = new JobStore(dir);
    for (const text of ['{', JSON.stringify({ version: 1, jobs: [{ ...stored, secret: 'short' }] })]) {
      await fs.writeFile(path.join(dir, 'jobs.json'), text);
      await expect(store.load()).rejects.toMatchObject({
        code: 'BAD_CONFIG',
        message: expect.stringContaining(store.file),
      });
    }
  });
});

describe('what the CLI sends', () => {
  it('makes every path absolute, since the daemon runs in another folder; a ticket goes as it is', () => {
    const share = shareRequest({
      paths: ['album', '/abs/b'],
      signal,
      rtc,
      p2pFile: 'album.p2p',
      seedForMs: 5,
    });
    expect(share).toEqual({
      type: 'share',
      paths: [path.resolve('album'), '/abs/b'],
      options: { signal, rtc, p2pFile: path.resolve('album.p2p'), seedForMs: 5 },
    });
    expect(getRequest({ source: 'album.p2p', out: 'dl', rtc, seed: true })).toEqual({
      type: 'get',
      source: path.resolve('album.p2p'),
      out: path.resolve('dl'),
      options: { rtc, seed: true },
    });
    const ticket = `${TICKET_PREFIX}AQ`;
    expect(getRequest({ source: ticket, out: '/dl', rtc }).source).toBe(ticket);
    // What it sends, the daemon reads back the same.
    expect(parseDaemonRequest(encodeDaemonMessage(share).trimEnd())).toEqual({
      v: DAEMON_PROTOCOL_VERSION,
      ...share,
    });
  });

  it('carries --ice-servers none / --direct-only as issuedTurn: false, so the daemon leaves the tracker’s TURN out', () => {
    const get = getRequest({ source: 'album.p2p', out: 'dl', rtc, issuedTurn: false });
    expect(get.options).toEqual({ rtc, issuedTurn: false });
    const share = shareRequest({ paths: ['a'], signal, rtc, issuedTurn: false });
    for (const request of [get, share]) {
      const read = parseDaemonRequest(encodeDaemonMessage(request).trimEnd());
      expect(read).toMatchObject({ options: { issuedTurn: false } });
    }
  });
});
