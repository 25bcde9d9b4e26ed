/** Shapes shared by the sender and the receiver, and reported to the CLI. */

export interface TransferProgress {
  /** Index of the file in the manifest. */
  file: number;
  name: string;
  fileBytes: number;
  /** null: a stream whose length is not known yet. */
  fileSize: number | null;
  /** Bytes of all files so far, and in all (null when a stream's length is unknown). */
  bytes: number;
  total: number | null;
}

/** A file starting, and a file finished (sent, or verified and in place). */
export type FileEvent =
  | { phase: 'start'; file: number; name: string; size: number | null }
  | ({ phase: 'done'; file: number } & FileResult);

export interface FileResult {
  name: string;
  /** Where the file was read from (sender) or written to (receiver). */
  path: string;
  bytes: number;
  sha256: string;
  /** Bytes that were not sent again because the receiver had them from an earlier run. */
  resumedBytes: number;
  /** The receiver had the whole file, identical (same path, size and SHA-256), from an earlier run: nothing was sent. */
  already?: true;
}

export interface TransferResult {
  files: FileResult[];
  /** Bytes that crossed the data channel this time (resumed bytes excluded). */
  bytes: number;
  /** From the first manifest byte to the final acknowledgement. */
  ms: number;
}

/**
 * Shared by the attempts of one session (a reconnection runs the transfer
 * again over a new channel), so the final result counts them all.
 */
export interface Tally {
  /** Bytes that crossed a data channel, in every attempt. */
  bytes: number;
  /** When the first attempt was accepted. */
  since?: number | undefined;
}
