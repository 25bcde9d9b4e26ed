/**
 * The jobs a daemon holds: it starts them through the swarm (JobRunner),
 * relays each one's events to whoever follows it, stops them on request,
 * and keeps the jobs file (store.ts) in step: a job is saved once started and
 * forgotten once it ends or is stopped, but not when the daemon itself stops,
 * so that the next daemon resumes it.
 */
import { randomBytes } from 'node:crypto';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { PeerEvent } from '../core/events.js';
import type { SwarmJob, SwarmStatus } from '../swarm/jobs.js';
import type { GetSpec, ReplyBody, ShareSpec } from './protocol.js';
import { MAX_JOBS } from './protocol.js';
import type { JobRunner } from './runner.js';
import type { JobStore, StoredJob } from './store.js';

/** A client that asked for a job's events: a requester until its job is ready, or a follower. */
export interface Listener {
  send(reply: ReplyBody): void;
  /** Close the connection: the job it followed ended. */
  end(): void;
}

/** What the daemon's own output shows. */
export interface DaemonLog {
  /** A job began (asked for, or saved and resumed): its first status, with the ticket. */
  started(status: SwarmStatus): void;
  event(job: string, event: PeerEvent): void;
  ended(status: SwarmStatus): void;
}

/** A job as requested, before the swarm gave it an id. */
type Spec =
  | { kind: 'share'; paths: string[]; options: ShareSpec; secret: string }
  | { kind: 'get'; source: string; out: string; options: GetSpec };

interface Held {
  job: SwarmJob;
  stored: StoredJob;
  followers: Set<Listener>;
  /** Settles with the job's last status once it has ended, however. */
  ended: Promise<SwarmStatus>;
}

/** 128 bits, as the ticket carries it. */
const SECRET_BYTES = 16;
/**
 * Ended jobs whose last status the daemon still shows (in memory only): a
 * get may end before its `peer status --follow` arrives, and should read as
 * done, not as unknown.
 */
const MAX_ENDED = 64;

function failed(job: SwarmJob, err: unknown): SwarmStatus {
  const error = toPeerlaneError(err);
  return { ...job.status(), state: 'failed', error: { code: error.code, message: error.message } };
}

export class JobRegistry {
  private readonly held = new Map<string, Held>();
  /** Followers of every job (`follow` without an id). */
  private readonly watchers = new Set<Listener>();
  /** Ends starts still under way (hashing a large folder) when the daemon stops. */
  private readonly abort = new AbortController();
  private closing = false;
  private unnamed = 0;
  /** The last status of jobs that ended, oldest first. */
  private readonly endedJobs = new Map<string, SwarmStatus>();
  /** Saved jobs not yet started again (resume). */
  private resuming: StoredJob[] = [];

  constructor(
    private readonly runner: JobRunner,
    private readonly store: Pick<JobStore, 'save'>,
    private readonly log: DaemonLog,
  ) {}

  /**
   * Start the saved jobs again, one by one; one that fails is reported and
   * forgotten. Resolves with how many run. Until each has had its turn it
   * stays in the file, whatever else is saved meanwhile.
   */
  async resume(saved: readonly StoredJob[]): Promise<number> {
    this.resuming = [...saved];
    for (const stored of saved) {
      try {
        await this.start(stored, undefined);
      } catch (err) {
        this.log.ended(this.unstarted(stored, err));
      }
      this.resuming = this.resuming.filter((s) => s !== stored);
      await this.persist();
    }
    return this.held.size;
  }

  /**
   * A new share with a fresh swarm secret (a `ticket` in the options brings
   * its own, which wins), or the running one for the same content.
   */
  share(paths: string[], options: ShareSpec, requester?: Listener): Promise<SwarmStatus> {
    const secret = randomBytes(SECRET_BYTES).toString('hex');
    return this.startSaved({ kind: 'share', paths, options, secret }, requester);
  }

  get(source: string, out: string, options: GetSpec, requester?: Listener): Promise<SwarmStatus> {
    return this.startSaved({ kind: 'get', source, out, options }, requester);
  }

  /** Every job's status (those that ended too, while remembered), or job `id`'s. */
  status(id?: string): SwarmStatus[] {
    if (id === undefined)
      return [...this.endedJobs.values(), ...[...this.held.values()].map((h) => h.job.status())];
    const ended = this.endedJobs.get(id);
    return [ended ?? this.find(id).job.status()];
  }

  /**
   * Send `listener` the events of job `id`, or of every job, from now on;
   * returns what runs now. A job that already ended gets its end at once.
   */
  follow(listener: Listener, id?: string): SwarmStatus[] {
    const ended = id === undefined ? undefined : this.endedJobs.get(id);
    if (ended !== undefined) {
      queueMicrotask(() => {
        listener.send({ type: 'ended', status: ended });
        listener.end();
      });
      return [ended];
    }
    if (id === undefined) this.watchers.add(listener);
    else this.find(id).followers.add(listener);
    return this.status(id);
  }

  unfollow(listener: Listener): void {
    this.watchers.delete(listener);
    for (const h of this.held.values()) h.followers.delete(listener);
  }

  /** Stop job `id` for good: it is forgotten, and a restart does not resume it. */
  async stop(id: string): Promise<SwarmStatus> {
    const ended = this.endedJobs.get(id);
    if (ended !== undefined) return ended;
    const held = this.find(id);
    await held.job.stop();
    return held.ended;
  }

  /** Stop every job, keeping them saved for the next daemon. */
  async close(): Promise<void> {
    this.closing = true;
    this.abort.abort();
    const all = [...this.held.values()];
    await Promise.all(all.map((h) => h.job.stop().catch(() => undefined)));
    await Promise.all(all.map((h) => h.ended));
    for (const w of this.watchers) w.end();
    this.watchers.clear();
  }

  private find(id: string): Held {
    const held = this.held.get(id);
    if (held === undefined) throw new PeerlaneError('JOB_NOT_FOUND', `the daemon holds no job ${id}`);
    return held;
  }

  private async startSaved(spec: Spec, requester: Listener | undefined): Promise<SwarmStatus> {
    const status = await this.start(spec, requester);
    await this.persist();
    return status;
  }

  private async start(spec: Spec, requester: Listener | undefined): Promise<SwarmStatus> {
    if (this.closing) throw new PeerlaneError('DAEMON_LOST', 'the daemon is stopping');
    if (this.held.size >= MAX_JOBS) {
      throw new PeerlaneError('SERVER_BUSY', `the daemon already holds ${MAX_JOBS} jobs`, {
        hint: 'stop some with `peer stop` and an id that `peer status` lists',
      });
    }
    // Events before the swarm names the job (hashing) go out under a stand-in;
    // share-ready names it, as start's result will.
    const label = { id: `new-${++this.unnamed}`, requester };
    const sink = (event: PeerEvent): void => {
      if (event.event === 'share-ready') label.id = event.id;
      this.emit(label.id, event, label.requester);
    };
    const job = await this.run(spec, sink);
    label.id = job.id;
    label.requester = undefined;
    const running = this.held.get(job.id);
    if (running !== undefined || this.closing) {
      await job.stop(); // the same content is already served (or the daemon is stopping)
      if (running === undefined) throw new PeerlaneError('DAEMON_LOST', 'the daemon is stopping');
      return running.job.status();
    }
    this.hold(job, { ...spec, id: job.id });
    const status = job.status();
    this.log.started(status);
    return status;
  }

  private run(spec: Spec, sink: (event: PeerEvent) => void): Promise<SwarmJob> {
    const abort = this.abort.signal;
    if (spec.kind === 'share') {
      const secret = Uint8Array.from(Buffer.from(spec.secret, 'hex'));
      return this.runner.startShare({ ...spec.options, paths: spec.paths, secret, abort }, sink);
    }
    return this.runner.startGet({ ...spec.options, source: spec.source, out: spec.out, abort }, sink);
  }

  private hold(job: SwarmJob, stored: StoredJob): void {
    const ended = job.done.then(
      (status) => status,
      (err: unknown) => failed(job, err),
    );
    const held: Held = { job, stored, followers: new Set(), ended };
    this.endedJobs.delete(job.id); // the same content again: it runs once more
    this.held.set(job.id, held);
    void ended.then((status) => this.ended(held, status));
  }

  private ended(held: Held, status: SwarmStatus): void {
    this.held.delete(status.id);
    this.endedJobs.delete(status.id);
    this.endedJobs.set(status.id, status);
    const oldest = this.endedJobs.keys().next().value;
    if (this.endedJobs.size > MAX_ENDED && oldest !== undefined) this.endedJobs.delete(oldest);
    this.log.ended(status);
    for (const f of held.followers) {
      f.send({ type: 'ended', status });
      f.end();
    }
    for (const w of this.watchers) w.send({ type: 'ended', status });
    // A job the daemon stopped on its way out stays saved: the next daemon resumes it.
    if (!this.closing) void this.persist();
  }

  private emit(job: string, event: PeerEvent, requester: Listener | undefined): void {
    this.log.event(job, event);
    const reply: ReplyBody = { type: 'event', job, event };
    requester?.send(reply);
    for (const f of this.held.get(job)?.followers ?? []) f.send(reply);
    for (const w of this.watchers) w.send(reply);
  }

  private persist(): Promise<void> {
    return this.store.save([...[...this.held.values()].map((h) => h.stored), ...this.resuming]);
  }

  /** What a saved job that could not start again is reported as. */
  private unstarted(stored: StoredJob, err: unknown): SwarmStatus {
    const error = toPeerlaneError(err);
    return {
      id: stored.id,
      kind: stored.kind,
      ticket: stored.kind === 'get' ? stored.source : '',
      state: 'failed',
      files: 0,
      totalBytes: 0,
      haveBytes: 0,
      uploadedBytes: 0,
      downloadedBytes: 0,
      peers: 0,
      error: { code: error.code, message: error.message },
    };
  }
}
