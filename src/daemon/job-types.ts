/**
 * The swarm's job contract (issue 19) as the daemon drives it, re-declared
 * until src/swarm/jobs.ts lands: that module is the owner, and this copy goes
 * once it is merged (the daemon then imports from there).
 */
import type { EventSink } from '../core/events.js';
import type { RtcOptions } from '../rtc/connect.js';
import type { SignalAddress } from '../signaling/socket.js';

export interface SwarmStatus {
  id: string;
  kind: 'share' | 'get';
  ticket: string;
  state: 'hashing' | 'fetching-manifest' | 'running' | 'seeding' | 'done' | 'stopped' | 'failed';
  files: number;
  totalBytes: number;
  haveBytes: number;
  uploadedBytes: number;
  downloadedBytes: number;
  peers: number;
  out?: string;
  error?: { code: string; message: string };
}

export interface SwarmJob {
  readonly id: string;
  readonly kind: 'share' | 'get';
  readonly ticket: string;
  readonly done: Promise<SwarmStatus>;
  status(): SwarmStatus;
  stop(): Promise<void>;
}

export interface ShareOptions {
  paths: string[];
  signal: SignalAddress;
  rtc: RtcOptions;
  secret?: Uint8Array;
  p2pFile?: string;
  seedForMs?: number;
  maxUploads?: number;
  chunkSize?: number;
  abort?: AbortSignal;
}

export interface GetOptions {
  source: string;
  out: string;
  overwrite?: boolean;
  seed?: boolean;
  seedForMs?: number;
  signal?: SignalAddress;
  rtc: RtcOptions;
  maxPeers?: number;
  abort?: AbortSignal;
}

/** What the daemon needs of the swarm: src/swarm/jobs.ts's two entry points. */
export interface JobRunner {
  startShare(options: ShareOptions, events: EventSink): Promise<SwarmJob>;
  startGet(options: GetOptions, events: EventSink): Promise<SwarmJob>;
}
