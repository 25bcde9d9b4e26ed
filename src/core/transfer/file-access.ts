/**
 * What the transfer engines need from files, and nothing more: the receiver
 * surveys what it holds, opens a `.part`, writes blocks at their offsets and
 * publishes a verified file; the sender opens a source, checks a resume offer
 * against it and reads it in pieces.
 *
 * Why an interface: the engines keep the protocol's rules (order, credit,
 * hashes, what is proven bad) and must not care whether files are Node's fs
 * (src/transfer/receiver.ts and sender.ts), a browser's File System
 * Access, or memory in a test. Names on disk are the implementation's to
 * check and choose: what is safe differs between file systems.
 */

import type { Hasher } from './ports.js';
import type { ManifestEntry, ResumeOffer } from './protocol.js';
import type { FileResult } from './types.js';

/** Folders created by this session, by relative path, with the identity they were created with. */
export type CreatedFolders = Map<string, { dev: number; ino: number }>;

/** What a receiving session remembers across its attempts (a reconnection runs the engine again). */
export interface ReceiveMemory {
  /** Files verified and in place, by manifest name: held, not received again. */
  completed: Map<string, FileResult>;
  /** The target each name's `.part` was given, so the next attempt continues that one. */
  targets: Map<string, string>;
  /** The text was printed already. */
  textShown?: boolean;
  /** Folders this session created: only they get the sender's mode and mtime. */
  createdFolders?: CreatedFolders;
}

/** An earlier run's `.part` that this transfer may continue: its target and the hashes of its whole blocks. */
export interface Resumable {
  target: string;
  blocks: string[];
}

/** What is in place already for a manifest, by manifest index. */
export interface Survey {
  /** Files in place from an earlier attempt of this session: held, not received again. */
  held: Map<number, FileResult>;
  /** Earlier `.part` files this transfer may continue. */
  resumable: Map<number, Resumable>;
  /** Files complete and identical from an earlier run (same path, size and SHA-256): not sent. */
  already: Map<number, FileResult>;
}

/** The receiver's file access, for one transfer. */
export interface ReceiverFiles {
  /** Refuse (BAD_NAME, NOT_ONE_STREAM) a manifest that can never be written, before anyone is asked. */
  check(files: readonly ManifestEntry[]): void;
  /** Before consent: what is in place or half-written already. */
  survey(files: readonly ManifestEntry[], memory: ReceiveMemory): Promise<Survey>;
  /**
   * After consent, before ACCEPT: room for what is still to be written
   * (DISK_FULL otherwise), and the manifest's folders created.
   */
  prepare(files: readonly ManifestEntry[], survey: Survey, memory: ReceiveMemory): Promise<void>;
  /**
   * One file's `.part`: continuing `earlier` from `offset` (its prefix fed to
   * `hash` again), or fresh at a free target.
   */
  open(request: OpenRequest): Promise<IncomingFile>;
  /** After END: the folders get their modes and mtimes, now that everything in them is in place. */
  finishFolders(memory: ReceiveMemory): Promise<void>;
}

export interface OpenRequest {
  index: number;
  entry: ManifestEntry;
  /** Where the sender starts: 0, or the end of the blocks `earlier` offered. */
  offset: number;
  earlier: Resumable | undefined;
  hash: Hasher;
}

/** One file being received. */
export interface IncomingFile {
  /** Where it will go ('-' for a stream written elsewhere, such as --stdout). */
  readonly target: string;
  /** Whether it is kept in place once finished (not a stream): a reconnection need not send it again. */
  readonly kept: boolean;
  /** The engine owns it now (a failure from here on discards it): record its resume state. */
  begin(): Promise<void>;
  /** Write one verified-in-order payload at `offset`. */
  write(payload: Uint8Array, offset: number): Promise<void>;
  /** Publish the verified file; returns where it went. */
  finish(): Promise<string>;
  /** Close it unfinished: with `keep`, kept for a later resume; otherwise (proven bad) removed. */
  discard(keep: boolean): Promise<void>;
}

/** One manifest entry on the sender's side (src/transfer/sources.ts's SourceFile is one). */
export interface SendEntry {
  name: string;
  /** Where it is read from, reported in its result. */
  path: string;
  size: number | null;
  mode?: number;
  mtime?: number;
  kind?: 'dir';
  /** Set once SenderFiles.hashAll has taken it; absent for folders and streams. */
  sha256?: string;
}

/** The sender's file access, for one list of entries. */
export interface SenderFiles {
  /** Each regular file's SHA-256 set on its entry, before the manifest states it. */
  hashAll(): Promise<void>;
  /** Open entry `index` to send it: a file at rest, or a stream of unknown length. */
  open(index: number): Promise<OutgoingFile | OutgoingStream>;
}

/** A file at rest: resumable, read in pieces one ahead. */
export interface OutgoingFile {
  kind: 'file';
  /** The offset to start from for the receiver's offer: 0 unless our first blocks hash to its digest. */
  resumeAt(offer: ResumeOffer | undefined): Promise<number>;
  /** Its bytes `[from, size)`, in pieces. Called once. */
  pieces(from: number): Pieces;
  /** Done with it (also after a failure): no read left running, closed. */
  close(): Promise<void>;
}

export interface Pieces {
  /**
   * The next piece: DATA_HEADER_BYTES of headroom, then the payload, so DATA
   * frames are cut from it with no copy (dataFrameAt); null at the end. Valid
   * until the next call.
   */
  next(): Promise<Uint8Array | null>;
}

/** A stream of unknown length (standard input): read as it comes, never resumed. */
export interface OutgoingStream {
  kind: 'stream';
  /** At most `max` bytes, or null at its end. */
  read(max: number): Promise<Uint8Array | null>;
}
