/**
 * Swarm wire protocol: what two members say over one authenticated
 * MessageLink (the connector's: direct TCP or a data channel, sealed).
 *
 *   getter                                              member (sharer or getter)
 *     | -- HELLO {v, root, chunks, have} --------------> |  both send it first; root must match
 *     | <------------------ HELLO {v, root, chunks, have} |  chunks 0: no manifest yet
 *     | -- MANIFEST_REQUEST ----------------------------> |  only without a .p2p file
 *     | <---- MANIFEST_PART [offset][total][bytes] × n -- |  checked against the root once whole
 *     | -- REQUEST {index} × ≤ REQUESTS_IN_FLIGHT ------> |  rarest first
 *     | <---------------- CHUNK [index][offset][bytes] × n |  each under the link's maxMessageSize
 *     | <------------------------------ CHOKE {index} --- |  no upload slot (or chunk) for us: ask elsewhere
 *     | -- CANCEL {index} ------------------------------> |  got it from someone else first
 *     | -- HAVE {index} --------------------------------> |  to every member, once verified and written
 *     | <============ ERROR {code, message}, then close = |
 *
 * Every frame starts with a one-byte type. CHUNK and MANIFEST_PART carry a
 * binary header and bytes; the others a small JSON object, validated here.
 * Nothing a member says is trusted: a chunk is checked against the
 * manifest's hash before it is written or offered (engine.ts).
 */
import { utf8Length } from '../bytes.js';
import type { ErrorCode } from '../errors.js';
import { isErrorCode, PeerlaneError } from '../errors.js';
import { parseJsonObject } from '../json.js';
import { MAX_CHUNKS, MAX_MANIFEST_BYTES } from './manifest.js';

export const SWARM_PROTOCOL_VERSION = 1;

/**
 * The largest message either side sends or accepts: 256 KiB, what
 * libdatachannel peers take (and as the transfer protocol's DATA frames). A
 * larger one is an offence: the link is closed.
 */
export const MAX_SWARM_MESSAGE = 256 * 1024;
/** Chunk requests a getter keeps open with one member: enough to keep a fast link busy. */
export const REQUESTS_IN_FLIGHT = 4;
/**
 * Requests a member may have queued with us. An honest getter has at most
 * REQUESTS_IN_FLIGHT, plus as many again re-asked in the endgame; more is a
 * flood, and the link is closed.
 */
export const MAX_QUEUED_REQUESTS = 4 * REQUESTS_IN_FLIGHT;

export const SwarmFrameType = {
  HELLO: 1,
  HAVE: 2,
  REQUEST: 3,
  CANCEL: 4,
  CHUNK: 5,
  CHOKE: 6,
  MANIFEST_REQUEST: 7,
  MANIFEST_PART: 8,
  ERROR: 9,
} as const;

/** type (1) + index or offset (4) + offset or total (4) */
export const SWARM_DATA_HEADER = 9;

export type SwarmFrame =
  | { type: 'hello'; v: number; root: string; chunks: number; have: string }
  | { type: 'have'; index: number }
  | { type: 'request'; index: number }
  | { type: 'cancel'; index: number }
  | { type: 'choke'; index: number }
  | { type: 'manifest-request' }
  | { type: 'chunk'; index: number; offset: number; data: Uint8Array }
  | { type: 'manifest-part'; offset: number; total: number; data: Uint8Array }
  | { type: 'error'; code: ErrorCode; message: string };

type JsonFrame = Exclude<SwarmFrame, { type: 'chunk' } | { type: 'manifest-part' }>;

const TYPE_BY_NAME = {
  hello: SwarmFrameType.HELLO,
  have: SwarmFrameType.HAVE,
  request: SwarmFrameType.REQUEST,
  cancel: SwarmFrameType.CANCEL,
  choke: SwarmFrameType.CHOKE,
  'manifest-request': SwarmFrameType.MANIFEST_REQUEST,
  error: SwarmFrameType.ERROR,
} as const satisfies Record<JsonFrame['type'], number>;

export function encodeSwarmFrame(frame: JsonFrame): Uint8Array {
  const { type, ...body } = frame;
  const json = new TextEncoder().encode(JSON.stringify(body));
  const out = new Uint8Array(1 + json.length);
  out[0] = TYPE_BY_NAME[type];
  out.set(json, 1);
  return out;
}

function writeU32(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 24) & 0xff;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

function readU32(raw: Uint8Array, at: number): number {
  return (
    (((raw[at] ?? 0) << 24) >>> 0) +
    ((raw[at + 1] ?? 0) << 16) +
    ((raw[at + 2] ?? 0) << 8) +
    (raw[at + 3] ?? 0)
  );
}

/** A binary frame: CHUNK [index][offset][data] or MANIFEST_PART [offset][total][data]. */
export function encodeDataFrame(
  type: 'chunk' | 'manifest-part',
  a: number,
  b: number,
  data: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(SWARM_DATA_HEADER + data.length);
  out[0] = type === 'chunk' ? SwarmFrameType.CHUNK : SwarmFrameType.MANIFEST_PART;
  writeU32(out, 1, a);
  writeU32(out, 5, b);
  out.set(data, SWARM_DATA_HEADER);
  return out;
}

function bad(message: string): PeerlaneError {
  return new PeerlaneError('BAD_FRAME', message);
}

function index(body: Record<string, unknown>): number {
  const v = body.index;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v >= MAX_CHUNKS) {
    throw bad('field "index" must be a chunk index');
  }
  return v;
}

const ROOT = /^[0-9a-f]{64}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function parseHello(body: Record<string, unknown>): SwarmFrame {
  const { v, root, chunks, have } = body;
  if (v !== SWARM_PROTOCOL_VERSION) {
    throw new PeerlaneError('VERSION_MISMATCH', `swarm protocol version ${String(v)} is not supported`);
  }
  if (typeof root !== 'string' || !ROOT.test(root)) throw bad('HELLO needs a root');
  if (typeof chunks !== 'number' || !Number.isSafeInteger(chunks) || chunks < 0 || chunks > MAX_CHUNKS) {
    throw bad('HELLO has a bad chunk count');
  }
  if (typeof have !== 'string' || !BASE64.test(have) || have.length > Math.ceil(MAX_CHUNKS / 6) + 4) {
    throw bad('HELLO has a bad bitfield');
  }
  return { type: 'hello', v, root, chunks, have };
}

/** Parse one message from a member. Throws PeerlaneError (BAD_FRAME, MESSAGE_TOO_LARGE, VERSION_MISMATCH). */
export function parseSwarmFrame(raw: Uint8Array): SwarmFrame {
  if (raw.length > MAX_SWARM_MESSAGE) {
    throw new PeerlaneError('MESSAGE_TOO_LARGE', `a member sent ${raw.length} bytes in one message`);
  }
  if (raw.length === 0) throw bad('empty frame');
  const type = raw[0];
  if (type === SwarmFrameType.CHUNK || type === SwarmFrameType.MANIFEST_PART) {
    if (raw.length <= SWARM_DATA_HEADER) throw bad('data frame without data');
    const a = readU32(raw, 1);
    const b = readU32(raw, 5);
    const data = raw.subarray(SWARM_DATA_HEADER);
    if (type === SwarmFrameType.CHUNK) {
      if (a >= MAX_CHUNKS) throw bad('CHUNK index out of range');
      return { type: 'chunk', index: a, offset: b, data };
    }
    if (b > MAX_MANIFEST_BYTES || a + data.length > b) throw bad('MANIFEST_PART out of range');
    return { type: 'manifest-part', offset: a, total: b, data };
  }
  const body = parseJsonObject(new TextDecoder().decode(raw.subarray(1)), 'BAD_FRAME', 'swarm frame');
  switch (type) {
    case SwarmFrameType.HELLO:
      return parseHello(body);
    case SwarmFrameType.HAVE:
      return { type: 'have', index: index(body) };
    case SwarmFrameType.REQUEST:
      return { type: 'request', index: index(body) };
    case SwarmFrameType.CANCEL:
      return { type: 'cancel', index: index(body) };
    case SwarmFrameType.CHOKE:
      return { type: 'choke', index: index(body) };
    case SwarmFrameType.MANIFEST_REQUEST:
      return { type: 'manifest-request' };
    case SwarmFrameType.ERROR: {
      const message = typeof body.message === 'string' ? body.message : 'unknown error';
      return {
        type: 'error',
        code: isErrorCode(body.code) ? body.code : 'REMOTE_ERROR',
        message: utf8Length(message) > 500 ? message.slice(0, 500) : message,
      };
    }
    default:
      throw bad(`unknown swarm frame type ${String(type)}`);
  }
}
