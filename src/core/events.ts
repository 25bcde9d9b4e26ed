/**
 * The events a peer or server reports. With `--json` each is printed as one
 * JSON object per line on stdout, so their names and fields are a stable
 * interface: add fields, never rename or remove them.
 */

import type { ErrorCode } from './errors.js';
import type { LinkTransport, PathKind } from './link.js';
import type { Reach } from './reach.js';
import type { RestartReason } from './signaling/rtc-signal.js';
import type { ManifestEntry } from './transfer/protocol.js';
import type { FileResult } from './transfer/types.js';

export type PeerEvent =
  | { event: 'listening'; host: string; port: number; httpPort?: number }
  | {
      event: 'ready';
      code: string;
      /** With `peer receive --name`: the name, which stands for the nameplate in `code`. */
      name?: string;
      /** With `--qr`: the browser page with the code in its fragment. */
      url?: string;
    }
  | {
      event: 'peers';
      /** Receivers waiting with `--listed`, alphabetical; reach one with `peer send --to <name>`. */
      peers: { name: string }[];
    }
  | {
      event: 'connected';
      path: PathKind;
      local: string;
      remote: string;
      /** A direct path: `same-network`, `through-nat` or `internet` (between public addresses). */
      reach?: Reach;
      /**
       * `tcp`: the direct TCP path won the race; `webrtc`: the data channel (local/remote: its ICE pair);
       * `relay`: the signal server's relay, sealed end to end (path `relay`).
       */
      transport: LinkTransport;
      /** With --verify: four words both sides must show alike. */
      verify?: string;
    }
  | {
      /** ICE switched to another candidate pair: the path the data takes from now on. */
      event: 'path-changed';
      path: PathKind;
      local: string;
      remote: string;
      /** As in `connected`. */
      reach?: Reach;
    }
  | {
      event: 'manifest';
      /** size null: a stream of unknown length; kind 'dir': a folder (listed after its contents). */
      files: ManifestEntry[];
      /** null when a stream's length is unknown. */
      total: number | null;
    }
  | { event: 'text'; text: string }
  | {
      event: 'progress';
      /** The file in flight, its bytes so far and its size (null: a stream of unknown length). */
      file: string;
      fileBytes: number;
      fileSize: number | null;
      /** All files: bytes so far and in all (null: unknown). */
      bytes: number;
      total: number | null;
      /**
       * Bytes that crossed the data channel in this run: `bytes` without what
       * the receiver already had (resumed files, and files held across a
       * reconnection). A rate is `moved` over time.
       */
      moved: number;
    }
  | {
      event: 'reconnecting';
      /** 1 for the first attempt after each drop; the budget (--reconnects) is `of`. */
      attempt: number;
      of: number;
      reason: RestartReason;
      /** What went wrong with the connection before. */
      message: string;
    }
  | { event: 'file-start'; file: string; size: number | null }
  | ({ event: 'file-done' } & FileResult)
  | { event: 'skipped'; path: string; reason: string }
  | {
      event: 'done';
      files: FileResult[];
      bytes: number;
      seconds: number;
      mbps: number;
      /** This process so far: CPU seconds (all threads) and peak resident memory. */
      usage: { cpuSeconds: number; maxRssBytes: number };
      /** The receiver's --out folder, absolute (absent with --stdout, and on the sender). */
      out?: string;
      /** A `--text` message was sent or received, not files. */
      text?: true;
    }
  | {
      /** `peer share`: hashed and announced; give `ticket` to the getters. `id` names the job. */
      event: 'share-ready';
      ticket: string;
      root: string;
      id: string;
      files: number;
      totalBytes: number;
      /** With --p2p: the .p2p file written. */
      p2p?: string;
    }
  | {
      /** A swarm member linked to us (joined) or gone (not joined); `peers` counts those linked now. */
      event: 'swarm-peer';
      member: string;
      joined: boolean;
      peers: number;
      /** When joined: the link's path and what carries it, as in `connected`. */
      path?: PathKind;
      local?: string;
      remote?: string;
      reach?: Reach;
      transport?: LinkTransport;
    }
  | {
      /** A member that sent a chunk failing its hash, or a manifest failing the root: never asked again. */
      event: 'peer-banned';
      member: string;
      reason: string;
    }
  | {
      /** A share or get ended: `out` for a get; bytes verified from members, and uploaded to them. */
      event: 'swarm-done';
      id: string;
      kind: 'share' | 'get';
      files: { name: string; path: string; bytes: number }[];
      downloadedBytes: number;
      /** Of downloadedBytes, what each member sent (verified chunks only). */
      fromMembers: Record<string, number>;
      uploadedBytes: number;
      seconds: number;
      usage: { cpuSeconds: number; maxRssBytes: number };
      out?: string;
    }
  | { event: 'error'; code: ErrorCode; message: string };

/** Every event name, in the order a transfer may report them: a stable interface. */
export const EVENT_NAMES = [
  'listening',
  'peers',
  'ready',
  'connected',
  'skipped',
  'manifest',
  'text',
  'file-start',
  'progress',
  'path-changed',
  'reconnecting',
  'file-done',
  'done',
  'share-ready',
  'swarm-peer',
  'peer-banned',
  'swarm-done',
  'error',
] as const satisfies readonly PeerEvent['event'][];

export type EventSink = (event: PeerEvent) => void;
