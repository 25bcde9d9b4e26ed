/**
 * Transfer protocol: binary frames over one reliable, ordered data channel.
 *
 *   sender                                          receiver
 *     | -- MANIFEST {v, files:[{name,size,mode,mtime,kind,sha256}], text} |  names checked, targets chosen
 *     | <-------- ACCEPT {window, resume, have, already} -- |  (or ERROR); resume: blocks held
 *     | -- FILE_START {file, offset} --------------------> |  offset > 0: resumed from a .part
 *     | -- DATA [file][offset][bytes] -------------------> |  only while credit remains
 *     | <--------------------------------- CREDIT {bytes} - |  once those bytes are on disk
 *     | -- FILE_END {file, sha256, size} ----------------> |  size + hash checked, .part renamed
 *     | <------------------------------- FILE_OK {file} -- |
 *     |               ... next file ...                    |
 *     | -- END ------------------------------------------> |
 *     | <---------------------------------------- DONE --- |  the sender exits 0 only now
 *     | <============ PING (every 2 s, both ways) ======== |
 *     | <============ ERROR {code, message}, then close == |
 *
 * Names are relative paths ('/'-separated, checked per component on arrival).
 * A `kind: 'dir'` entry is a folder: created at ACCEPT, given its mode and
 * mtime at END (after its files), never started or ended. A `size: null` entry is a stream of unknown length (stdin): its
 * FILE_END carries the final size. A manifest with `text` and no files is a
 * message (peer send --text); the receiver prints it.
 *
 * Each file's entry states the sender's SHA-256 of it. The receiver uses it,
 * and only it, to recognise what it holds from earlier runs (resume.ts): a
 * file in place with that path, size and hash is listed in ACCEPT's `already`
 * and not sent; a `.part` is offered for resume (ACCEPT's `resume`) only if
 * its state was written for a manifest entry with that same hash. The sender
 * states its hash first, so a receiver's answer confirms nothing to a sender
 * that does not already know the content's hash.
 *
 * After a reconnection in the same session the sender offers the same
 * manifest on the new channel. ACCEPT's `have` lists the files the receiver
 * already verified and placed over an earlier channel (its FILE_OK may have
 * been lost with it); the sender skips them, and resumes the rest.
 *
 * Every frame starts with a one-byte type. DATA carries a binary header and the
 * payload; all other frames carry a small JSON object, validated on arrival.
 */

import { hexToBytes } from '@noble/hashes/utils.js';
import { utf8Length } from '../bytes.js';
import type { ErrorCode } from '../errors.js';
import { isErrorCode, PeerlaneError } from '../errors.js';
import { parseJsonObject } from '../json.js';
import type { Hasher } from './ports.js';

/**
 * 3: relative paths, folders, modes and mtimes, streams of unknown size, text.
 * 4: each file's SHA-256 in the manifest, ACCEPT.already, and resume offers
 * only for a `.part` written for that same hash.
 */
export const TRANSFER_PROTOCOL_VERSION = 4;

/**
 * Resume granularity. The receiver records a SHA-256 per verified block next to
 * its .part; an interrupted file restarts from its last whole block, so a kill
 * costs at most one block plus the bytes in flight. 4 MiB keeps the state
 * small (64 bytes per 4 MiB) and the re-sent tail short.
 */
export const BLOCK_SIZE = 4 * 1024 * 1024;

/**
 * Payload bytes per DATA frame: 256 KiB messages, the most libdatachannel
 * peers accept (the header fits in the 16 spare bytes). Against 64 KiB they
 * cost about 10% less sender CPU here at the same rate; 1 MiB is 3× slower.
 * The sender shrinks chunks to a peer's smaller maxMessageSize (64 KiB in
 * some browsers); the receiver refuses anything larger than this.
 */
export const CHUNK_SIZE = 256 * 1024 - 16;

/**
 * Sender backpressure: queue frames while the channel's bufferedAmount is under
 * the high-water mark, then wait for it to drain to the low mark. 1 MiB keeps
 * the SCTP pipe full on loopback and is far below the 16 MiB at which
 * browsers fail.
 */
export const SEND_HIGH_WATER = 1024 * 1024;
export const SEND_LOW_WATER = 256 * 1024;

/**
 * Receiver backpressure: node-datachannel queues incoming messages without
 * limit, so the sender may only have this many bytes in flight that the
 * receiver has not yet written to disk. It bounds the receiver's memory
 * whatever the disk speed, and at 16 MiB covers a 100 ms × 160 MB/s path.
 */
export const RECEIVE_WINDOW = 16 * 1024 * 1024;
/**
 * Frames the receiver holds queued, not yet handled: a cap on its memory
 * besides the byte window, against a flood of tiny frames. An honest sender
 * stays far below it: at most 3 frames per file in flight for MAX_FILES small
 * files (30,001), or a window of full-size DATA frames (64).
 */
export const MAX_QUEUED_FRAMES = 65_536;
/** The receiver returns credit in batches, so CREDIT frames stay rare. */
export const CREDIT_BATCH = 1024 * 1024;

/** Heartbeat: each side pings this often, and gives up on a peer silent for PEER_IDLE_TIMEOUT_MS. */
export const PING_INTERVAL_MS = 2_000;
export const PEER_IDLE_TIMEOUT_MS = 10_000;

/**
 * No progress: once accepted, a peer that pings but sends nothing else while
 * we wait on it (a receiver that grants no credit, a sender that sends no
 * data) is given up on with STALLED after this long. Generous, because some
 * honest pauses send nothing: re-hashing a large `.part` before a resume, a
 * copy where hard links are missing, a very slow link between credits.
 */
export const STALL_TIMEOUT_MS = 300_000;

/** Limits on what a manifest may announce. */
export const MAX_FILES = 10_000;
export const MAX_NAME_BYTES = 255;
/** A relative path (a name with its folders), in bytes: Linux PATH_MAX. */
export const MAX_REL_PATH_BYTES = 4096;
/** `peer send --text`: the most a message may hold, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 64 * 1024;
/** DATA offsets are 48-bit; 256 TiB is enough for any one file. */
export const MAX_FILE_SIZE = 2 ** 48 - 1;
/** JSON control frames are small; a manifest of MAX_FILES long names fits. */
export const MAX_CONTROL_FRAME_BYTES = 4 * 1024 * 1024;

export const FrameType = {
  MANIFEST: 1,
  ACCEPT: 2,
  DATA: 3,
  CREDIT: 4,
  FILE_END: 5,
  FILE_OK: 6,
  END: 7,
  DONE: 8,
  PING: 9,
  ERROR: 10,
  FILE_START: 11,
} as const;

/** type (1) + file index (4) + offset (6) */
export const DATA_HEADER_BYTES = 11;

export interface ManifestEntry {
  /** A relative path: '/'-separated components. */
  name: string;
  /** Bytes, or null for a stream whose length is known only at FILE_END. */
  size: number | null;
  /** Permission bits (0o777 at most). */
  mode?: number;
  /** Modification time, in milliseconds since the epoch. */
  mtime?: number;
  /** 'dir': a folder (size 0, no data frames). Absent: a file. */
  kind?: 'dir';
  /** The sender's SHA-256 of the file (hex), taken before the manifest; absent for folders and streams. */
  sha256?: string;
}

/** The bytes a manifest announces in all; null when a stream's length is not known yet. */
export function manifestTotal(files: readonly { size: number | null }[]): number | null {
  return files.some((f) => f.size === null) ? null : files.reduce((sum, f) => sum + (f.size ?? 0), 0);
}

/** What the receiver already holds of one file: its first `blocks` blocks, summarised by `digest`. */
export interface ResumeOffer {
  file: number;
  blocks: number;
  /** SHA-256 over the concatenated SHA-256 of each block. */
  digest: string;
}

/**
 * An offer's digest: SHA-256 over the concatenated SHA-256 of each block
 * (`blocks`, hex), what both sides compute and compare. `hash` is a fresh
 * SHA-256.
 */
export function offerDigest(blocks: readonly string[], hash: Hasher): string {
  for (const block of blocks) hash.update(hexToBytes(block));
  return hash.digestHex();
}

export type Frame =
  | { type: 'manifest'; v: number; files: ManifestEntry[]; text?: string }
  | {
      type: 'accept';
      window: number;
      resume: ResumeOffer[];
      /** Files verified and placed over an earlier channel of this session. */
      have?: number[];
      /** Files already in place from an earlier run: same path, size and the SHA-256 the manifest states. */
      already?: number[];
    }
  | { type: 'file-start'; file: number; offset: number }
  | { type: 'data'; file: number; offset: number; payload: Uint8Array }
  | { type: 'credit'; bytes: number }
  | { type: 'file-end'; file: number; sha256: string; size?: number }
  | { type: 'file-ok'; file: number }
  | { type: 'end' }
  | { type: 'done' }
  | { type: 'ping' }
  | { type: 'error'; code: ErrorCode; message: string };

export type ControlFrame = Exclude<Frame, { type: 'data' }>;

const TYPE_BY_NAME = {
  manifest: FrameType.MANIFEST,
  accept: FrameType.ACCEPT,
  'file-start': FrameType.FILE_START,
  credit: FrameType.CREDIT,
  'file-end': FrameType.FILE_END,
  'file-ok': FrameType.FILE_OK,
  end: FrameType.END,
  done: FrameType.DONE,
  ping: FrameType.PING,
  error: FrameType.ERROR,
} as const satisfies Record<ControlFrame['type'], number>;

// ---------------------------------------------------------------- encoding

const utf8 = new TextEncoder();
/** Not fatal: a malformed sequence reads as U+FFFD, and the JSON or a name check refuses it. */
const fromUtf8 = new TextDecoder();

/** A control frame's bytes, with no Node Buffer: what the engines and a browser send. */
export function encodeControlBytes(frame: ControlFrame): Uint8Array {
  const { type, ...body } = frame;
  const json = utf8.encode(JSON.stringify(body));
  const out = new Uint8Array(1 + json.length);
  out[0] = TYPE_BY_NAME[type];
  out.set(json, 1);
  return out;
}

/**
 * Write a DATA header into the first DATA_HEADER_BYTES of `frame`: the file
 * index as 4 bytes and the offset as 6, big-endian. Byte by byte, so any
 * Uint8Array will do (no Buffer in a browser).
 */
export function writeDataHeader(frame: Uint8Array, file: number, offset: number): void {
  frame[0] = FrameType.DATA;
  for (let i = 4, v = file; i >= 1; i--, v = Math.floor(v / 256)) frame[i] = v % 256;
  for (let i = 10, v = offset; i >= 5; i--, v = Math.floor(v / 256)) frame[i] = v % 256;
}

/**
 * The DATA frame for `piece`'s payload bytes `[at, at + length)`, where the
 * payload starts DATA_HEADER_BYTES into `piece`: its header is written over
 * the 11 bytes just before those bytes, so no payload is copied. Those bytes
 * are headroom or payload already sent (a link copies each frame as it is
 * queued). Hash the piece before cutting frames from it.
 */
export function dataFrameAt(
  piece: Uint8Array,
  at: number,
  length: number,
  file: number,
  offset: number,
): Uint8Array {
  const frame = piece.subarray(at, at + DATA_HEADER_BYTES + length);
  writeDataHeader(frame, file, offset);
  return frame;
}

// ---------------------------------------------------------------- decoding

/** A DATA frame: the header read in place (writeDataHeader's inverse, big-endian), the payload a view. */
function dataFrame(raw: Uint8Array): Frame {
  let file = 0;
  for (let i = 1; i <= 4; i++) file = file * 256 + (raw[i] ?? 0);
  let offset = 0;
  for (let i = 5; i <= 10; i++) offset = offset * 256 + (raw[i] ?? 0);
  return { type: 'data', file, offset, payload: raw.subarray(DATA_HEADER_BYTES) };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function bad(message: string): PeerlaneError {
  return new PeerlaneError('BAD_FRAME', message);
}

function isCount(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max;
}

function count(obj: Record<string, unknown>, key: string, max: number): number {
  const value = obj[key];
  if (!isCount(value, max)) throw bad(`field "${key}" must be an integer from 0 to ${max}`);
  return value;
}

/** An optional list of manifest indices in a control frame (absent: empty). */
function indexList(obj: Record<string, unknown>, key: string): number[] {
  const list = obj[key] ?? [];
  if (!Array.isArray(list) || list.length > MAX_FILES) throw bad(`field "${key}" must be a list of files`);
  return list.map((file: unknown) => count({ file }, 'file', MAX_FILES));
}

function parseBody(buf: Uint8Array): Record<string, unknown> {
  if (buf.length > MAX_CONTROL_FRAME_BYTES) throw bad('control frame too large');
  return parseJsonObject(fromUtf8.decode(buf.subarray(1)), 'BAD_FRAME', 'control frame');
}

function parseManifest(obj: Record<string, unknown>): Frame {
  const v = obj.v;
  if (v !== TRANSFER_PROTOCOL_VERSION) {
    throw new PeerlaneError(
      'VERSION_MISMATCH',
      `transfer protocol version ${String(v)} is not supported (this side speaks ${TRANSFER_PROTOCOL_VERSION})`,
    );
  }
  const files = obj.files;
  if (!Array.isArray(files)) throw bad('manifest has no file list');
  if (files.length > MAX_FILES) throw bad(`manifest lists ${files.length} files; the limit is ${MAX_FILES}`);
  const entries: ManifestEntry[] = files.map((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null) throw bad(`manifest entry ${i} is not an object`);
    const e = entry as Record<string, unknown>;
    if (typeof e.name !== 'string') throw bad(`manifest entry ${i} has no name`);
    if (utf8Length(e.name) > MAX_REL_PATH_BYTES) throw bad(`manifest entry ${i} has an over-long name`);
    const out: ManifestEntry = {
      name: e.name,
      size: e.size === null && e.kind === undefined ? null : count(e, 'size', MAX_FILE_SIZE),
    };
    if (e.mode !== undefined) out.mode = count(e, 'mode', 0o777);
    if (e.mtime !== undefined) out.mtime = count(e, 'mtime', 8.64e15);
    if (e.kind !== undefined) {
      if (e.kind !== 'dir' || out.size !== 0) throw bad(`manifest entry ${i} has a bad kind`);
      out.kind = 'dir';
    }
    if (e.sha256 !== undefined) {
      if (
        typeof e.sha256 !== 'string' ||
        !SHA256_HEX.test(e.sha256) ||
        out.kind === 'dir' ||
        out.size === null
      )
        throw bad(`manifest entry ${i} has a bad sha256`);
      out.sha256 = e.sha256;
    }
    return out;
  });
  const frame: Frame = { type: 'manifest', v, files: entries };
  if (obj.text !== undefined) {
    if (typeof obj.text !== 'string') throw bad('manifest text is not a string');
    if (utf8Length(obj.text) > MAX_TEXT_BYTES)
      throw new PeerlaneError('TEXT_TOO_LARGE', `the text is over ${MAX_TEXT_BYTES} bytes`);
    if (entries.length > 0) throw bad('a manifest carries text or files, not both');
    frame.text = obj.text;
  }
  return frame;
}

/** Parse one frame from the peer. Throws PeerlaneError (BAD_FRAME, VERSION_MISMATCH). */
export function parseFrame(raw: unknown): Frame {
  if (!(raw instanceof Uint8Array)) throw bad('frames must be binary');
  if (raw.length === 0) throw bad('empty frame');
  const type = raw[0];
  if (type === FrameType.DATA) {
    if (raw.length <= DATA_HEADER_BYTES) throw bad('DATA frame without payload');
    if (raw.length - DATA_HEADER_BYTES > CHUNK_SIZE) throw bad(`DATA payload over ${CHUNK_SIZE} bytes`);
    return dataFrame(raw);
  }
  switch (type) {
    case FrameType.MANIFEST:
      return parseManifest(parseBody(raw));
    case FrameType.ACCEPT: {
      const body = parseBody(raw);
      const resume = body.resume ?? [];
      if (!Array.isArray(resume) || resume.length > MAX_FILES) throw bad('ACCEPT has a bad resume list');
      const have = indexList(body, 'have');
      const already = indexList(body, 'already');
      return {
        type: 'accept',
        ...(have.length > 0 ? { have } : {}),
        ...(already.length > 0 ? { already } : {}),
        window: count(body, 'window', MAX_FILE_SIZE),
        resume: resume.map((r: unknown): ResumeOffer => {
          if (typeof r !== 'object' || r === null) throw bad('ACCEPT resume entry is not an object');
          const o = r as Record<string, unknown>;
          if (typeof o.digest !== 'string' || !SHA256_HEX.test(o.digest))
            throw bad('resume entry needs a digest');
          return {
            file: count(o, 'file', MAX_FILES),
            blocks: count(o, 'blocks', Math.ceil(MAX_FILE_SIZE / BLOCK_SIZE)),
            digest: o.digest,
          };
        }),
      };
    }
    case FrameType.FILE_START: {
      const body = parseBody(raw);
      return {
        type: 'file-start',
        file: count(body, 'file', MAX_FILES),
        offset: count(body, 'offset', MAX_FILE_SIZE),
      };
    }
    case FrameType.CREDIT:
      return { type: 'credit', bytes: count(parseBody(raw), 'bytes', MAX_FILE_SIZE) };
    case FrameType.FILE_END: {
      const body = parseBody(raw);
      const sha256 = body.sha256;
      if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) throw bad('FILE_END needs a sha256');
      const end: Frame = { type: 'file-end', file: count(body, 'file', MAX_FILES), sha256 };
      if (body.size !== undefined) end.size = count(body, 'size', MAX_FILE_SIZE);
      return end;
    }
    case FrameType.FILE_OK:
      return { type: 'file-ok', file: count(parseBody(raw), 'file', MAX_FILES) };
    case FrameType.END:
      return { type: 'end' };
    case FrameType.DONE:
      return { type: 'done' };
    case FrameType.PING:
      return { type: 'ping' };
    case FrameType.ERROR: {
      const body = parseBody(raw);
      return {
        type: 'error',
        code: isErrorCode(body.code) ? body.code : 'REMOTE_ERROR',
        message: typeof body.message === 'string' ? body.message.slice(0, 500) : 'unknown error',
      };
    }
    default:
      throw bad(`unknown frame type ${String(type)}`);
  }
}
