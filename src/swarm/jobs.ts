/**
 * Shares and gets as jobs (the contract h-daemon drives): `startShare` hashes
 * the content, joins the swarm and serves it; `startGet` reads a ticket or a
 * `.p2p` file, joins, fetches and checks every chunk into --out, and seeds
 * while it runs (and after, with `seed`). The engine (core/swarm/engine.ts)
 * holds the protocol; the connector (connector.ts) the links; this file
 * wires them to the disk, the clock and the events, and tells when a job ends.
 *
 * Who dials: of two members, the one with the lower member id, whether it
 * shares or gets (a getter up to `maxPeers`), so every pair has one dialer
 * and two members never dial each other at once (the connector would make one
 * link of it, but only after a wasted attempt).
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
import { processUsage } from '../session/common.js';
import type { SignalAddress } from '../signaling/socket.js';
import { nodeSha256 } from '../transfer/sha256.js';
import type { SwarmConnector } from './connector.js';
import { joinSwarm } from './connector.js';
import { hashContent, sourceStore } from './content.js';
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
  maxPeers?: number;
  abort?: AbortSignal;
}

/** Members a getter links to at once: enough to fetch from several and trade, few enough to keep sockets cheap. */
const DEFAULT_MAX_PEERS = 8;

/** A sharer dials every member above it: as many as one swarm holds (the tracker's cap, MAX_SWARM_MEMBERS). */
const SHARE_DIALS = MAX_SWARM_MEMBERS;

/** A job's id: stable for the same content and kind, so a daemon finds it again after a restart. */
export function jobId(root: string, kind: 'share' | 'get'): string {
  return root.slice(0, 12) + (kind === 'share' ? 's' : 'g');
}

/** What a job holds while it runs; the two kinds differ only in how they start and when they end. */
class Job implements SwarmJob {
  readonly id: string;
  readonly done: Promise<SwarmStatus>;
  state: SwarmStatus['state'] = 'running';
  engine: SwarmEngine | undefined;
  connector: SwarmConnector | undefined;
  layout: ChunkLayout | undefined;
  error: PeerlaneError | undefined;
  private settle!: (s: SwarmStatus) => void;
  private reject!: (e: PeerlaneError) => void;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly started = Date.now();
  private ended = false;

  constructor(
    readonly kind: 'share' | 'get',
    readonly ticket: string,
    readonly root: string,
    private readonly events: EventSink,
    readonly out?: string,
  ) {
    this.id = jobId(root, kind);
    this.done = new Promise<SwarmStatus>((resolve, reject) => {
      this.settle = resolve;
      this.reject = reject;
    });
    // A caller that only polls status() must not see an unhandled rejection.
    this.done.catch(() => {});
  }

  status(): SwarmStatus {
    const e = this.engine;
    const layout = this.layout;
    let haveBytes = 0;
    if (e?.have !== undefined && layout !== undefined) {
      for (let i = 0; i < layout.count; i++) if (e.have.has(i)) haveBytes += layout.place(i).length;
    }
    return {
      id: this.id,
      kind: this.kind,
      ticket: this.ticket,
      state: this.state,
      files: layout?.manifest.files.length ?? 0,
      totalBytes: layout?.totalBytes ?? 0,
      haveBytes,
      uploadedBytes: e?.uploadedBytes ?? 0,
      downloadedBytes: e?.downloadedBytes ?? 0,
      peers: e?.peers ?? 0,
      ...(this.out !== undefined ? { out: this.out } : {}),
      ...(this.error !== undefined ? { error: { code: this.error.code, message: this.error.message } } : {}),
    };
  }

  every(ms: number, fn: () => void): void {
    this.timers.push(setInterval(fn, ms));
  }

  after(ms: number, fn: () => void): void {
    this.timers.push(setTimeout(fn, ms));
  }

  /** End the job: `err` fails it, else it ends as `state`. Idempotent. */
  async end(state: 'done' | 'stopped', err?: PeerlaneError): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    for (const t of this.timers) clearTimeout(t);
    this.engine?.stop();
    await this.connector?.close().catch(() => {});
    if (err !== undefined) {
      this.state = 'failed';
      this.error = err;
      this.reject(err);
      return;
    }
    this.state = state;
    this.events(this.doneEvent());
    this.settle(this.status());
  }

  stop(): Promise<void> {
    return this.end('stopped');
  }

  private doneEvent(): Parameters<EventSink>[0] {
    const files = (this.layout?.manifest.files ?? []).map((f, i) => ({
      name: f.name,
      path: this.paths?.[i] ?? f.name,
      bytes: f.size,
    }));
    return {
      event: 'swarm-done',
      id: this.id,
      kind: this.kind,
      files,
      downloadedBytes: this.engine?.downloadedBytes ?? 0,
      fromMembers: Object.fromEntries(this.fromMembers),
      uploadedBytes: this.engine?.uploadedBytes ?? 0,
      seconds: Math.round(Date.now() - this.started) / 1000,
      usage: processUsage(),
      ...(this.out !== undefined ? { out: this.out } : {}),
    };
  }

  /** Where each file is on disk, for the final event. */
  paths: string[] | undefined;
  /** Verified bytes each member sent us. */
  private readonly fromMembers = new Map<string, number>();

  /** The engine's events, as PeerEvents and job state. */
  engineEvents(onComplete: () => void) {
    return {
      onContent: (layout: ChunkLayout) => {
        this.layout = layout;
      },
      onComplete,
      onMember: (member: string, joined: boolean) =>
        this.events({ event: 'swarm-peer', member, joined, peers: this.engine?.peers ?? 0 }),
      onBanned: (member: string, reason: string) => this.events({ event: 'peer-banned', member, reason }),
      onChunk: (index: number, from: string) => {
        const bytes = this.layout?.place(index).length ?? 0;
        this.fromMembers.set(from, (this.fromMembers.get(from) ?? 0) + bytes);
        this.progress(index);
      },
      onFatal: (err: PeerlaneError) => void this.end('done', err),
    };
  }

  private progress(index: number): void {
    const layout = this.layout;
    if (layout === undefined) return;
    const { file } = layout.place(index);
    const entry = layout.manifest.files[file];
    const s = this.status();
    const [first, end] = layout.chunksOfFile(file);
    let fileBytes = 0;
    for (let i = first; i < end; i++) if (this.engine?.have?.has(i)) fileBytes += layout.place(i).length;
    this.events({
      event: 'progress',
      file: entry?.name ?? '',
      fileBytes,
      fileSize: entry?.size ?? 0,
      bytes: s.haveBytes,
      total: s.totalBytes,
      moved: s.downloadedBytes,
    });
  }

  /** Join the swarm and hand every link to the engine; a getter also dials members. */
  async join(signal: SignalAddress, secret: Uint8Array, rtc: RtcOptions, dial: number, abort?: AbortSignal) {
    const connector = await joinSwarm({ signal, secret, rtc, ...(abort !== undefined ? { abort } : {}) });
    this.connector = connector;
    const engine = this.engine;
    if (this.ended) await connector.close();
    if (engine === undefined) throw new PeerlaneError('INTERNAL', 'join before the engine');
    connector.onLink((link, member) => engine.addMember(member, link));
    // Attempts under way; a member linked is the engine's. A link that closed
    // (or an attempt that failed) is tried again on the next tick while the
    // member stays in the swarm.
    const dialing = new Set<string>();
    const reach = (member: string): void => {
      if (member < connector.memberId || dialing.has(member) || engine.hasMember(member)) return;
      if (engine.isBanned(member) || this.ended || dialing.size + engine.peers >= dial) return;
      dialing.add(member);
      connector.connect(member, abort).then(
        (link) => {
          dialing.delete(member);
          engine.addMember(member, link);
        },
        () => dialing.delete(member),
      );
    };
    connector.onMember((member, joined) => {
      if (joined) reach(member);
    });
    this.every(TICK_MS, () => {
      for (const member of connector.members()) reach(member);
    });
    for (const member of connector.members()) reach(member);
  }
}

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
  await startJob(job, options.abort, () =>
    job.join(options.signal, secret, options.rtc, SHARE_DIALS, options.abort),
  );
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
    job.join(signal, ticket.secret, options.rtc, options.maxPeers ?? DEFAULT_MAX_PEERS, options.abort),
  );
  failIfAlone(job, options.rtc.timeoutMs);
  return job;
}
