/**
 * Shares and gets as jobs (the contract h-daemon drives): `startShare` hashes
 * the content, joins the swarm and serves it; `startGet` reads a ticket or a
 * `.p2p` file, joins, fetches and checks every chunk into --out, and seeds
 * while it runs (and after, with `seed`). The engine (core/swarm/engine.ts)
 * holds the protocol; the connector (connector.ts) the links; this file
 * wires them to the disk, the clock and the events, and tells when a job ends.
 *
 * Who dials whom, and what a job holds while it runs: job.ts.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import { MAX_SWARM_MEMBERS } from '../core/signaling/swarm.js';
import { Bitfield } from '../core/swarm/bitfield.js';
import type { SwarmContent } from '../core/swarm/engine.js';
import { SwarmEngine, TICK_MS } from '../core/swarm/engine.js';
import { SWARM_SECRET_BYTES } from '../core/swarm/keys.js';
import type { SwarmManifest } from '../core/swarm/manifest.js';
import { ChunkLayout, encodeManifest, manifestRoot } from '../core/swarm/manifest.js';
import type { Ticket } from '../core/swarm/ticket.js';
import {
  encodeP2p,
  encodeTicket,
  MAX_P2P_BYTES,
  parseP2p,
  parseTicket,
  TICKET_PREFIX,
} from '../core/swarm/ticket.js';
import { systemClock } from '../core/transfer/ports.js';
import type { RtcOptions } from '../rtc/connect.js';
import type { SignalAddress } from '../signaling/socket.js';
import { nodeSha256 } from '../transfer/sha256.js';
import { hashContent, sourceStore } from './content.js';
import { Job } from './job.js';
import { openOutStore } from './out-store.js';

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
  /** Use the TURN credentials the tracker issues (default true): connector.ts JoinOptions. */
  issuedTurn?: boolean;
  secret?: Uint8Array;
  /** Serve under an existing ticket, as one more sharer: the content must hash to its root. */
  ticket?: string;
  p2pFile?: string;
  seedForMs?: number;
  /** Stop once this many copies' worth of the content has been uploaded. */
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
  /** As ShareOptions's. */
  issuedTurn?: boolean;
  maxPeers?: number;
  abort?: AbortSignal;
}

/** Members a getter links to at once: enough to fetch from several and trade, few enough to keep sockets cheap. */
const DEFAULT_MAX_PEERS = 8;

/** A sharer dials every member above it: as many as one swarm holds (the tracker's cap, MAX_SWARM_MEMBERS). */
const SHARE_DIALS = MAX_SWARM_MEMBERS;

function allHave(count: number): Bitfield {
  const have = new Bitfield(count);
  for (let i = 0; i < count; i++) have.set(i);
  return have;
}

/** Hash and announce `options.paths`; resolves once the ticket works. */
export async function startShare(options: ShareOptions, events: EventSink): Promise<SwarmJob> {
  const shared = await hashContent(options.paths, options.chunkSize, options.abort);
  const encoded = encodeManifest(shared.manifest);
  const root = manifestRoot(encoded);
  const joined = options.ticket === undefined ? undefined : parseTicket(options.ticket);
  if (joined !== undefined && joined.root !== root) {
    throw new PeerlaneError(
      'BAD_MANIFEST',
      'these files (at this chunk size) are not what the ticket shares: name the same files, with the same --chunk-size',
    );
  }
  const secret = joined?.secret ?? options.secret ?? new Uint8Array(randomBytes(SWARM_SECRET_BYTES));
  const ticket = options.ticket?.trim() ?? encodeTicket({ root, secret, signal: options.signal });
  if (options.p2pFile !== undefined) await fs.writeFile(options.p2pFile, encodeP2p(ticket, shared.manifest));
  const job = new Job('share', ticket, root, events);
  const content: SwarmContent = {
    manifest: shared.manifest,
    store: sourceStore(shared),
    have: allHave(shared.manifest.chunks.length),
  };
  job.layout = new ChunkLayout(shared.manifest);
  job.paths = shared.sources.map((s) => s.path);
  job.state = 'seeding';
  job.engine = new SwarmEngine({
    root,
    content,
    hasher: nodeSha256,
    clock: systemClock,
    events: { ...job.engineEvents(() => {}), onUploaded: () => checkUploads(job, options.maxUploads) },
  });
  await startJob(job, options.abort, () => job.join({ ...options, secret }, SHARE_DIALS));
  events({
    event: 'share-ready',
    ticket,
    root,
    id: job.id,
    files: shared.manifest.files.length,
    totalBytes: job.layout.totalBytes,
    ...(options.p2pFile !== undefined ? { p2p: options.p2pFile } : {}),
  });
  if (options.seedForMs !== undefined) job.after(options.seedForMs, () => void job.end('done'));
  return job;
}

function checkUploads(job: Job, maxUploads: number | undefined): void {
  const total = job.layout?.totalBytes ?? 0;
  if (maxUploads !== undefined && (job.engine?.uploadedBytes ?? 0) >= maxUploads * Math.max(total, 1)) {
    void job.end('done');
  }
}

/** Tick the engine, end the job on abort, and join; a failed join fails the job. */
async function startJob(job: Job, abort: AbortSignal | undefined, join: () => Promise<void>): Promise<void> {
  job.every(TICK_MS, () => job.engine?.tick());
  abort?.addEventListener('abort', () => void job.end('stopped'), { once: true });
  try {
    await join();
  } catch (err) {
    const e = toPeerlaneError(err);
    await job.end('done', e);
    throw e;
  }
}

/**
 * A get that has heard of no member for the connect timeout (--timeout) ends
 * with SWARM_EMPTY, rather than wait for ever on a share that has stopped.
 * A seeding get may be alone: it waits to be asked. A rerun resumes.
 */
function failIfAlone(job: Job, timeoutMs: number): void {
  let aloneSince = Date.now();
  job.every(TICK_MS, () => {
    if ((job.connector?.members().length ?? 0) > 0 || (job.engine?.peers ?? 0) > 0) aloneSince = Date.now();
    else if (job.state === 'fetching-manifest' || job.state === 'running') {
      if (Date.now() - aloneSince >= timeoutMs) {
        void job.end(
          'done',
          new PeerlaneError('SWARM_EMPTY', `no member of this swarm was found in ${timeoutMs / 1000} s`),
        );
      }
    }
  });
}

/** A ticket, or a path to a `.p2p` file (which also gives the manifest). BAD_TICKET / BAD_MANIFEST before any network. */
export async function readSource(
  source: string,
): Promise<{ ticket: Ticket; ticketText: string; manifest?: SwarmManifest }> {
  if (source.trim().startsWith(TICKET_PREFIX))
    return { ticket: parseTicket(source), ticketText: source.trim() };
  let text: string;
  try {
    const stat = await fs.stat(source);
    if (stat.size > MAX_P2P_BYTES)
      throw new PeerlaneError('BAD_MANIFEST', `${source} is too large for a .p2p file`);
    text = await fs.readFile(source, 'utf8');
  } catch (err) {
    if (err instanceof PeerlaneError) throw err;
    throw new PeerlaneError(
      'BAD_TICKET',
      `${source} is neither a ticket (${TICKET_PREFIX}…) nor a readable .p2p file`,
    );
  }
  return parseP2p(text);
}

/** Join the ticket's swarm and fetch its content into `options.out`. */
export async function startGet(options: GetOptions, events: EventSink): Promise<SwarmJob> {
  const { ticket, ticketText, manifest } = await readSource(options.source);
  const out = path.resolve(options.out);
  const job = new Job('get', ticketText, ticket.root, events, out);
  const open = async (m: SwarmManifest): Promise<SwarmContent> => {
    const store = await openOutStore({
      outDir: out,
      manifest: m,
      root: ticket.root,
      overwrite: options.overwrite ?? false,
    });
    job.paths = store.paths;
    job.layout = new ChunkLayout(m);
    job.state = 'running';
    return { manifest: m, store, have: store.have };
  };
  // Deferred: the engine may report a resumed download complete from inside its constructor.
  const onComplete = (): void => void setImmediate(() => complete());
  const complete = (): void => {
    if (!options.seed) {
      void job.end('done');
      return;
    }
    job.state = 'seeding';
    if (options.seedForMs !== undefined) job.after(options.seedForMs, () => void job.end('done'));
  };
  job.state = manifest === undefined ? 'fetching-manifest' : 'running';
  const content = manifest === undefined ? undefined : await open(manifest);
  job.engine = new SwarmEngine({
    root: ticket.root,
    ...(content !== undefined ? { content } : {}),
    openContent: open,
    hasher: nodeSha256,
    clock: systemClock,
    events: job.engineEvents(onComplete),
  });
  const signal = options.signal ?? ticket.signal;
  await startJob(job, options.abort, () =>
    job.join({ ...options, signal, secret: ticket.secret }, options.maxPeers ?? DEFAULT_MAX_PEERS),
  );
  failIfAlone(job, options.rtc.timeoutMs);
  return job;
}
