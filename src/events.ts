/**
 * The events a peer or server reports. With `--json` each is printed as one
 * JSON object per line on stdout, so their names and fields are a stable
 * interface: add fields, never rename or remove them.
 */
import type { ErrorCode } from './errors.js';
import type { PathKind } from './rtc/link.js';
import type { FileResult } from './transfer/types.js';

export type PeerEvent =
  | { event: 'listening'; host: string; port: number; httpPort?: number }
  | { event: 'ready'; code: string }
  | {
      event: 'connected';
      path: PathKind;
      local: string;
      remote: string;
      /** With --verify: four words both sides must show alike. */
      verify?: string;
    }
  | { event: 'manifest'; files: { name: string; size: number }[]; total: number }
  | {
      event: 'progress';
      /** The file in flight, its bytes so far and its size. */
      file: string;
      fileBytes: number;
      fileSize: number;
      /** All files: bytes so far and in all. */
      bytes: number;
      total: number;
    }
  | {
      event: 'done';
      files: FileResult[];
      bytes: number;
      seconds: number;
      mbps: number;
      /** This process so far: CPU seconds (all threads) and peak resident memory. */
      usage: { cpuSeconds: number; maxRssBytes: number };
    }
  | { event: 'error'; code: ErrorCode; message: string };

export type EventSink = (event: PeerEvent) => void;
