/**
 * The daemon's protocol: newline-delimited JSON over a local socket (a Unix
 * socket in a 0700 folder, or a named pipe on Windows: paths.ts). One request
 * per connection; the daemon answers it and closes.
 *
 *   peer share/get/status/stop             peer daemon
 *      | -- connect ---------------------------> |  (the socket is 0600: this user only)
 *      | -- share{paths,options} --------------> |  hash, announce to the swarm
 *      | <------------- event{job,event} ------- |  the job's events until it is ready
 *      | <------------- ok{jobs:[status]} ------ |  and the daemon closes
 *      |                                          |
 *      | -- get{source,out,options} -----------> |  same, ready once it has joined
 *      | -- status{id?} -----------------------> |
 *      | <------------- ok{jobs:[status…]} ----- |
 *      | -- stop{id} --------------------------> |  the job stops; its spec is forgotten
 *      | <------------- ok{jobs:[status]} ------ |
 *      | -- shutdown --------------------------> |  stop every job (their specs stay:
 *      | <------------- ok{jobs:[]} ------------ |  the next daemon resumes them); once done
 *      |                                          |
 *      | -- follow{id?} -----------------------> |
 *      | <------------- ok{jobs:[status…]} ----- |  what runs now
 *      | <------------- event{job,event} ------- |  every event of the job (or of all)
 *      | <------------- ended{status} ---------- |  a job ended; with an id, then close
 *
 * Anything may be answered by `error{code,message}`, then close; a line that
 * does not parse, or a second request, drops the client and nobody else.
 * Every message carries `v` (VERSION_MISMATCH otherwise). Paths are absolute:
 * the CLI resolves them against its own folder before sending.
 *
 * Events are the --json events (core/events.ts), relayed as the job emitted
 * them. The socket is private to the user, so the CLI checks only their
 * shape (an object naming a known event) before printing them again.
 */
import type { ErrorCode } from '../core/errors.js';
import { isErrorCode, PeerlaneError } from '../core/errors.js';
import type { PeerEvent } from '../core/events.js';
import { EVENT_NAMES } from '../core/events.js';
import { parseJsonObject } from '../core/json.js';
import type { RtcOptions } from '../rtc/connect.js';
import type { SignalAddress } from '../signaling/socket.js';
import type { SwarmStatus } from '../swarm/jobs.js';
import type { Fields } from './fields.js';
import {
  absolutePath,
  bad,
  count,
  defined,
  MAX_PATH_BYTES,
  object,
  optionalBoolean,
  optionalCount,
  rtcField,
  signalAddressField,
  str,
} from './fields.js';

export const DAEMON_PROTOCOL_VERSION = 1;

/** A request with MAX_SHARE_PATHS paths of PATH_MAX bytes would be 16 MiB; a request this size holds hundreds. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Replies carry the --json events, whose largest (a manifest) is capped at 256 KiB, and status lists. */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024;
/** Paths one share names; a folder counts once, however many files it holds. */
export const MAX_SHARE_PATHS = 1024;
/** Jobs one daemon holds: each holds sockets and a swarm membership, so a few hundred is plenty. */
export const MAX_JOBS = 256;
/** A ticket is one line: a root, a secret and an address. */
const MAX_TICKET_BYTES = 1024;
/** A job id: the root's first 12 hex digits and a kind letter; a little room for other forms. */
const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

interface ConnectionSpec {
  /** Absent for `get`: the ticket's own signal server. */
  signal?: SignalAddress;
  rtc: RtcOptions;
  /** False: leave out the TURN credentials the tracker issues (`--ice-servers none`, `--direct-only`). */
  issuedTurn?: boolean;
}
export interface ShareSpec extends ConnectionSpec {
  signal: SignalAddress;
  /** Serve as one more sharer of this ticket's swarm (`peer share --ticket`). */
  ticket?: string;
  p2pFile?: string;
  seedForMs?: number;
  maxUploads?: number;
  chunkSize?: number;
}
export interface GetSpec extends ConnectionSpec {
  overwrite?: boolean;
  seed?: boolean;
  seedForMs?: number;
  maxPeers?: number;
}

export type DaemonRequest =
  | { v: number; type: 'share'; paths: string[]; options: ShareSpec }
  | { v: number; type: 'get'; source: string; out: string; options: GetSpec }
  | { v: number; type: 'status'; id?: string }
  | { v: number; type: 'follow'; id?: string }
  | { v: number; type: 'stop'; id: string }
  | { v: number; type: 'shutdown' };

export type DaemonReply =
  | { v: number; type: 'ok'; jobs: SwarmStatus[] }
  | { v: number; type: 'event'; job: string; event: PeerEvent }
  | { v: number; type: 'ended'; status: SwarmStatus }
  | { v: number; type: 'error'; code: ErrorCode; message: string };

type WithoutVersion<T> = T extends unknown ? Omit<T, 'v'> : never;
/** What a side writes: encodeDaemonMessage adds the version. */
export type RequestBody = WithoutVersion<DaemonRequest>;
export type ReplyBody = WithoutVersion<DaemonReply>;

export function encodeDaemonMessage(msg: RequestBody | ReplyBody): string {
  return `${JSON.stringify({ v: DAEMON_PROTOCOL_VERSION, ...msg })}\n`;
}

function checkVersion(obj: Fields): number {
  if (obj.v !== DAEMON_PROTOCOL_VERSION) {
    throw new PeerlaneError(
      'VERSION_MISMATCH',
      `daemon protocol version ${JSON.stringify(obj.v)} is not supported (this side speaks ${DAEMON_PROTOCOL_VERSION}): run the same peerlane for the daemon and the CLI`,
    );
  }
  return DAEMON_PROTOCOL_VERSION;
}

function jobId(obj: Fields, key: string): string {
  const id = str(obj, key, 64);
  if (!JOB_ID.test(id)) throw bad(`field "${key}" is not a job id`);
  return id;
}

function optionalJobId(obj: Fields): { id?: string } {
  return obj.id === undefined ? {} : { id: jobId(obj, 'id') };
}

export function parseShareSpec(raw: unknown): ShareSpec {
  const obj = object(raw, 'options');
  return defined<ShareSpec>({
    signal: signalAddressField(obj.signal),
    rtc: rtcField(obj.rtc),
    issuedTurn: optionalBoolean(obj, 'issuedTurn'),
    ticket: obj.ticket === undefined ? undefined : str(obj, 'ticket', MAX_TICKET_BYTES),
    p2pFile: obj.p2pFile === undefined ? undefined : absolutePath(obj, 'p2pFile'),
    seedForMs: optionalCount(obj, 'seedForMs'),
    maxUploads: optionalCount(obj, 'maxUploads'),
    chunkSize: optionalCount(obj, 'chunkSize'),
  });
}

export function parseGetSpec(raw: unknown): GetSpec {
  const obj = object(raw, 'options');
  return defined<GetSpec>({
    signal: obj.signal === undefined ? undefined : signalAddressField(obj.signal),
    rtc: rtcField(obj.rtc),
    issuedTurn: optionalBoolean(obj, 'issuedTurn'),
    overwrite: optionalBoolean(obj, 'overwrite'),
    seed: optionalBoolean(obj, 'seed'),
    seedForMs: optionalCount(obj, 'seedForMs'),
    maxPeers: optionalCount(obj, 'maxPeers'),
  });
}

function sharePaths(obj: Fields): string[] {
  const paths = obj.paths;
  if (!Array.isArray(paths) || paths.length === 0 || paths.length > MAX_SHARE_PATHS) {
    throw bad(`field "paths" must list 1 to ${MAX_SHARE_PATHS} paths`);
  }
  return paths.map((p: unknown) => absolutePath({ path: p }, 'path'));
}

/** Parse one request from a client. Throws PeerlaneError (BAD_MESSAGE or VERSION_MISMATCH). */
export function parseDaemonRequest(raw: unknown): DaemonRequest {
  const obj = parseJsonObject(raw);
  const v = checkVersion(obj);
  switch (obj.type) {
    case 'share':
      return { v, type: 'share', paths: sharePaths(obj), options: parseShareSpec(obj.options) };
    case 'get':
      return {
        v,
        type: 'get',
        // A ticket, or a .p2p file's path (the CLI made it absolute).
        source: str(obj, 'source', MAX_PATH_BYTES),
        out: absolutePath(obj, 'out'),
        options: parseGetSpec(obj.options),
      };
    case 'status':
    case 'follow':
      return { v, type: obj.type, ...optionalJobId(obj) };
    case 'stop':
      return { v, type: 'stop', id: jobId(obj, 'id') };
    case 'shutdown':
      return { v, type: 'shutdown' };
    default:
      throw bad(`unknown request type ${JSON.stringify(obj.type)}`);
  }
}

const KINDS = ['share', 'get'] as const;
const STATES = ['hashing', 'fetching-manifest', 'running', 'seeding', 'done', 'stopped', 'failed'] as const;
const MAX_ERROR_MESSAGE_BYTES = 1024;

function oneOf<T extends string>(obj: Fields, key: string, values: readonly T[]): T {
  const value = values.find((v) => v === obj[key]);
  if (value === undefined) throw bad(`field "${key}" is invalid`);
  return value;
}

function errorField(raw: unknown): { code: string; message: string } {
  const obj = object(raw, 'error');
  return { code: str(obj, 'code', 64), message: str(obj, 'message', MAX_ERROR_MESSAGE_BYTES) };
}

function parseStatus(raw: unknown): SwarmStatus {
  const obj = object(raw, 'status');
  return {
    id: jobId(obj, 'id'),
    kind: oneOf(obj, 'kind', KINDS),
    ticket: str(obj, 'ticket', MAX_TICKET_BYTES),
    state: oneOf(obj, 'state', STATES),
    files: count(obj, 'files'),
    totalBytes: count(obj, 'totalBytes'),
    haveBytes: count(obj, 'haveBytes'),
    uploadedBytes: count(obj, 'uploadedBytes'),
    downloadedBytes: count(obj, 'downloadedBytes'),
    peers: count(obj, 'peers'),
    ...(obj.out === undefined ? {} : { out: str(obj, 'out', MAX_PATH_BYTES) }),
    ...(obj.error === undefined ? {} : { error: errorField(obj.error) }),
  };
}

/** A relayed event: an object naming a known event (see the header on why no more is checked). */
function eventField(raw: unknown): PeerEvent {
  const obj = object(raw, 'event');
  if (!EVENT_NAMES.some((name) => name === obj.event)) throw bad('field "event" names no known event');
  return obj as PeerEvent;
}

function jobList(obj: Fields): SwarmStatus[] {
  const jobs = obj.jobs;
  if (!Array.isArray(jobs) || jobs.length > MAX_JOBS) throw bad(`field "jobs" must list at most ${MAX_JOBS}`);
  return jobs.map(parseStatus);
}

/** Parse one reply from the daemon. Throws PeerlaneError. */
export function parseDaemonReply(raw: unknown): DaemonReply {
  const obj = parseJsonObject(raw);
  const v = checkVersion(obj);
  switch (obj.type) {
    case 'ok':
      return { v, type: 'ok', jobs: jobList(obj) };
    case 'event':
      return { v, type: 'event', job: jobId(obj, 'job'), event: eventField(obj.event) };
    case 'ended':
      return { v, type: 'ended', status: parseStatus(obj.status) };
    case 'error': {
      const { code, message } = errorField(obj);
      return { v, type: 'error', code: isErrorCode(code) ? code : 'REMOTE_ERROR', message };
    }
    default:
      throw bad(`unknown reply type ${JSON.stringify(obj.type)}`);
  }
}
