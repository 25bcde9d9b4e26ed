/**
 * One share or get while it runs (jobs.ts starts them): its engine and
 * connector, its status, its events, and its end. The two kinds differ only in
 * how they start and when they end, which jobs.ts decides.
 *
 * Who dials: of two members, the one with the lower member id, whether it
 * shares or gets (a getter up to `maxPeers`), so every pair has one dialer
 * and two members never dial each other at once (the connector would make one
 * link of it, but only after a wasted attempt).
 */
import { PeerlaneError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import type { MessageLink } from '../core/link.js';
import type { SwarmEngine } from '../core/swarm/engine.js';
import { TICK_MS } from '../core/swarm/engine.js';
import type { ChunkLayout } from '../core/swarm/manifest.js';
import { processUsage } from '../session/common.js';
import type { JoinOptions, SwarmConnector } from './connector.js';
import { joinSwarm } from './connector.js';
import type { SwarmJob, SwarmStatus } from './jobs.js';

/** A job's id: stable for the same content and kind, so a daemon finds it again after a restart. */
function jobId(root: string, kind: 'share' | 'get'): string {
  return root.slice(0, 12) + (kind === 'share' ? 's' : 'g');
}

/** What a job holds while it runs; the two kinds differ only in how they start and when they end. */
export class Job implements SwarmJob {
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
    // Its final event says a get has every chunk verified: one stopped before that has no such end.
    if (this.kind === 'share' || this.engine?.have?.complete === true) this.events(this.doneEvent());
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
  /** The link each member was handed to the engine on, for the path `swarm-peer` tells. */
  private readonly links = new Map<string, MessageLink>();

  /** The engine's events, as PeerEvents and job state. */
  engineEvents(onComplete: () => void) {
    return {
      onContent: (layout: ChunkLayout) => {
        this.layout = layout;
      },
      onComplete,
      onMember: (member: string, joined: boolean) => {
        const link = joined ? this.links.get(member) : undefined;
        if (!joined) this.links.delete(member);
        const path = link === undefined ? {} : { ...link.pathInfo(), transport: link.transport };
        this.events({ event: 'swarm-peer', member, joined, peers: this.engine?.peers ?? 0, ...path });
      },
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
  async join(options: JoinOptions, dial: number) {
    const { signal, secret, rtc, issuedTurn, abort } = options;
    const connector = await joinSwarm({
      signal,
      secret,
      rtc,
      ...(issuedTurn !== undefined ? { issuedTurn } : {}),
      ...(abort !== undefined ? { abort } : {}),
    });
    this.connector = connector;
    const engine = this.engine;
    if (this.ended) await connector.close();
    if (engine === undefined) throw new PeerlaneError('INTERNAL', 'join before the engine');
    const add = (member: string, link: MessageLink): void => {
      if (!engine.hasMember(member)) this.links.set(member, link);
      engine.addMember(member, link);
    };
    connector.onLink((link, member) => add(member, link));
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
          add(member, link);
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
