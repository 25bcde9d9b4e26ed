/**
 * What a session (the parent, attempt-process.ts) and the child process that
 * runs one connection attempt and the transfer over it (attempt-child.ts) say
 * to each other over Node's IPC channel: kinds, version and limits in one
 * place, and `parse` at each edge.
 *
 * File data never crosses: the child reads and writes the files itself. Only
 * the attempt's signal payloads, the link's facts, progress and file events,
 * the consent question and its answer, the result or error, and a heartbeat do.
 */
import type { ErrorCode } from '../core/errors.js';
import { isErrorCode, PeerlaneError } from '../core/errors.js';
import { parseJsonObject } from '../core/json.js';
import type { LinkTransport, PathInfo } from '../core/link.js';
import type { ReceiveMemory } from '../core/transfer/file-access.js';
import type { FramedLinkOptions, LossReason } from '../core/transfer/framed-link.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import type {
  FileEvent,
  FileResult,
  Tally,
  TransferProgress,
  TransferResult,
} from '../core/transfer/types.js';
import type { RtcOptions } from '../rtc/connect.js';
import type { SourceFile } from '../transfer/sources.js';

/** Both ends ship in one package; a mismatch means a half-updated install. */
export const ATTEMPT_PROTOCOL_VERSION = 1;

/** How often the child proves its main thread is alive (the freeze guard's beat, cli/freeze-guard.ts). */
export const CHILD_BEAT_MS = 500;

/**
 * Progress is coalesced to one message this often: the engines report every
 * piece (thousands a second), the output redraws a few times a second.
 */
export const PROGRESS_EVERY_MS = 100;

/**
 * After `close`, how long the child has to close its link and exit before it
 * is killed: a close stuck in the libdatachannel lock never returns.
 */
export const CHILD_EXIT_GRACE_MS = 2_000;

export interface WireError {
  code: ErrorCode;
  message: string;
}

/** A source file as plain data: a stream (`-`) never runs in a child. */
export type WireSource = Omit<SourceFile, 'stream'>;

/** ReceiveMemory with its maps as entry lists. */
export interface WireMemory {
  completed: [string, FileResult][];
  targets: [string, string][];
  textShown?: boolean | undefined;
  createdFolders?: [string, { dev: number; ino: number }][] | undefined;
}

/** The transfer a child runs once its link is open, with the session's memory of earlier attempts. */
export type Job =
  | {
      role: 'send';
      files: WireSource[];
      text?: string | undefined;
      earlier: [number, FileResult][];
      tally: Tally;
    }
  | { role: 'receive'; outDir: string; overwrite: boolean; memory: WireMemory; tally: Tally };

export type ToChild =
  | {
      kind: 'start';
      v: number;
      role: 'offerer' | 'answerer';
      attempt: number;
      /** The direct path's key (hex), derived from the session key. */
      key: string;
      rtc: RtcOptions;
      previousPath?: PathInfo | undefined;
      heartbeat?: FramedLinkOptions | undefined;
    }
  | { kind: 'signal'; payload: string }
  | { kind: 'signal-failed'; error: WireError }
  | { kind: 'abort'; error: WireError }
  | { kind: 'run'; job: Job }
  | { kind: 'consent'; error?: WireError | undefined }
  | { kind: 'framed'; op: 'abort' | 'lose'; reason?: LossReason | undefined; error: WireError }
  | { kind: 'close' };

export type FromChild =
  | { kind: 'beat' }
  | { kind: 'signal'; payload: string }
  | {
      kind: 'open';
      transport: LinkTransport;
      path: PathInfo;
      fingerprints: { local: string; remote: string };
    }
  | { kind: 'connect-failed'; error: WireError }
  | { kind: 'path'; path: PathInfo }
  | { kind: 'failure'; error: WireError; lostReason?: LossReason | undefined }
  | { kind: 'link-closed'; error: WireError }
  | { kind: 'progress'; progress: TransferProgress; tally: Tally; memory?: WireMemory | undefined }
  | { kind: 'file'; event: FileEvent; memory?: WireMemory | undefined }
  | { kind: 'text'; text: string; memory?: WireMemory | undefined }
  | { kind: 'manifest'; files: ManifestEntry[] }
  | {
      kind: 'result';
      result: TransferResult;
      tally: Tally;
      memory?: WireMemory | undefined;
      cpuSeconds: number;
    }
  | {
      kind: 'failed';
      error: WireError;
      loss?: LossReason | undefined;
      memory?: WireMemory | undefined;
      cpuSeconds: number;
    };

export function toWire(err: PeerlaneError): WireError {
  return { code: err.code, message: err.message };
}

export function fromWire(err: WireError): PeerlaneError {
  return new PeerlaneError(err.code, err.message);
}

export function memoryToWire(memory: ReceiveMemory): WireMemory {
  return {
    completed: [...memory.completed],
    targets: [...memory.targets],
    textShown: memory.textShown,
    createdFolders: memory.createdFolders === undefined ? undefined : [...memory.createdFolders],
  };
}

/** Copy a child's memory into the session's (the same objects, kept across attempts). */
export function memoryFromWire(wire: WireMemory, into: ReceiveMemory): void {
  into.completed = new Map(wire.completed);
  into.targets = new Map(wire.targets);
  if (wire.textShown !== undefined) into.textShown = wire.textShown;
  if (wire.createdFolders !== undefined) into.createdFolders = new Map(wire.createdFolders);
}

const TO_CHILD = ['start', 'signal', 'signal-failed', 'abort', 'run', 'consent', 'framed', 'close'] as const;
const FROM_CHILD = [
  'beat',
  'signal',
  'open',
  'connect-failed',
  'path',
  'failure',
  'link-closed',
  'progress',
  'file',
  'text',
  'manifest',
  'result',
  'failed',
] as const;

/** The fields each kind must carry, and what they must be. */
const FIELDS: Record<string, Record<string, 'string' | 'number' | 'object' | 'error'>> = {
  start: { v: 'number', role: 'string', attempt: 'number', key: 'string', rtc: 'object' },
  signal: { payload: 'string' },
  'signal-failed': { error: 'error' },
  abort: { error: 'error' },
  run: { job: 'object' },
  framed: { op: 'string', error: 'error' },
  open: { transport: 'string', path: 'object', fingerprints: 'object' },
  'connect-failed': { error: 'error' },
  path: { path: 'object' },
  failure: { error: 'error' },
  'link-closed': { error: 'error' },
  progress: { progress: 'object', tally: 'object' },
  file: { event: 'object' },
  text: { text: 'string' },
  manifest: { files: 'object' },
  result: { result: 'object', tally: 'object', cpuSeconds: 'number' },
  failed: { error: 'error', cpuSeconds: 'number' },
};

function bad(message: string): PeerlaneError {
  return new PeerlaneError('INTERNAL', `attempt process: ${message}`);
}

function isWireError(value: unknown): value is WireError {
  if (typeof value !== 'object' || value === null) return false;
  const { code, message } = value as Record<string, unknown>;
  return isErrorCode(code) && typeof message === 'string';
}

/**
 * The envelope of a message between the processes: a known kind with its
 * fields of the right types. What the fields hold (a manifest, a result) the
 * child's engine parsed from the peer's frames already.
 */
function parseMessage(raw: unknown, kinds: readonly string[]): Record<string, unknown> {
  const obj = parseJsonObject(raw, 'INTERNAL', 'attempt process message');
  const kind = obj.kind;
  if (typeof kind !== 'string' || !kinds.includes(kind)) throw bad(`unknown message kind ${String(kind)}`);
  for (const [field, type] of Object.entries(FIELDS[kind] ?? {})) {
    const value = obj[field];
    const ok =
      type === 'error' ? isWireError(value) : typeof value === type && (type !== 'object' || value !== null);
    if (!ok) throw bad(`${kind}: field "${field}" must be ${type === 'error' ? 'an error' : `a ${type}`}`);
  }
  return obj;
}

/** A message from the session; a start of another version is VERSION_MISMATCH. */
export function parseToChild(raw: unknown): ToChild {
  const msg = parseMessage(raw, TO_CHILD);
  if (msg.kind === 'start' && msg.v !== ATTEMPT_PROTOCOL_VERSION)
    throw new PeerlaneError(
      'VERSION_MISMATCH',
      `the attempt process speaks version ${ATTEMPT_PROTOCOL_VERSION}, the session ${String(msg.v)}`,
    );
  return msg as ToChild;
}

/** A message from an attempt's child. */
export function parseFromChild(raw: unknown): FromChild {
  return parseMessage(raw, FROM_CHILD) as FromChild;
}
