/**
 * The session's side of an attempt run in a child process (attempt-child.ts):
 * `ChildAttempt` stands where a FramedLink stands in process (core
 * session/ports.ts SessionLink), so PeerSession's attempts, reconnection and
 * consent work unchanged, while the link and the transfer run in the child.
 *
 * The child beats every CHILD_BEAT_MS. When it stops for the freeze limit,
 * counted only over time this process was awake to see (the freeze guard's
 * rule, cli/freeze-guard.ts: Ctrl-Z stops the whole process group, and a
 * stopped parent and child are paused, not frozen), it is killed and the
 * attempt fails with RTC_STALLED: the session starts a new one, as after a
 * network cut, and the transfer resumes from the verified blocks on disk.
 */
import type { ChildProcess } from 'node:child_process';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { PathInfo } from '../core/link.js';
import type { AttemptRequest, SessionLink } from '../core/session/ports.js';
import type { FramedLinkOptions, LossReason } from '../core/transfer/framed-link.js';
import type { TransferResult } from '../core/transfer/types.js';
import type { RtcOptions } from '../rtc/connect.js';
import type { JobHooks } from './attempt-jobs.js';
import { RemoteJob } from './attempt-jobs.js';
import type { FromChild, Job, ToChild } from './attempt-protocol.js';
import {
  ATTEMPT_PROTOCOL_VERSION,
  CHILD_EXIT_GRACE_MS,
  fromWire,
  parseFromChild,
  toWire,
} from './attempt-protocol.js';
import { spawnChild, Watchdog } from './child-watch.js';

/** What a child needs to open its attempt, besides the session's request. */
export interface ChildSpec {
  /** The direct path's key (direct/handshake.ts directKey). */
  key: Buffer;
  rtc: RtcOptions;
  heartbeat?: FramedLinkOptions | undefined;
  /** A child silent this long (while we were awake) is frozen: killed, and the attempt failed. */
  freezeLimitMs: number;
}

type Opened = Extract<FromChild, { kind: 'open' }>;

export class ChildAttempt implements SessionLink {
  lostReason: LossReason | undefined;
  readonly failure: Promise<never>;
  readonly link: SessionLink['link'];
  private rejectFailure!: (err: PeerlaneError) => void;
  private failed: PeerlaneError | undefined;
  private readonly child: ChildProcess;
  private readonly watchdog: Watchdog;
  private readonly opening: Promise<void>;
  private settleOpen!: (err?: PeerlaneError) => void;
  private facts: Opened | undefined;
  private pathHandler: ((info: PathInfo) => void) | undefined;
  private closedWith: PeerlaneError | undefined;
  private readonly closeHandlers: ((err: PeerlaneError) => void)[] = [];
  /** How the child's link was lost, as the child's framed link saw it when the transfer failed. */
  private loss: LossReason | undefined;
  private job: RemoteJob | undefined;
  private frozen: PeerlaneError | undefined;
  private exited = false;

  /** Start a child on `request`'s attempt; resolves once its link is open. */
  static async open(request: AttemptRequest, spec: ChildSpec): Promise<ChildAttempt> {
    const attempt = new ChildAttempt(request, spec);
    try {
      await attempt.opening;
      return attempt;
    } catch (err) {
      attempt.link.close();
      throw err;
    }
  }

  private constructor(
    private readonly request: AttemptRequest,
    spec: ChildSpec,
  ) {
    this.failure = new Promise<never>((_, reject) => {
      this.rejectFailure = reject;
    });
    this.failure.catch(() => {});
    this.opening = new Promise<void>((resolve, reject) => {
      this.settleOpen = (err) => (err === undefined ? resolve() : reject(err));
    });
    this.link = this.linkFacts();
    this.child = spawnChild();
    const seconds = Math.round(spec.freezeLimitMs / 1000);
    this.watchdog = new Watchdog(spec.freezeLimitMs, () => {
      this.frozen = new PeerlaneError(
        'RTC_STALLED',
        `the connection attempt's process stopped responding for ${seconds} s and was ended`,
      );
      this.child.kill('SIGKILL');
    });
    this.child.on('message', (raw: unknown) => this.heard(raw));
    this.child.on('exit', (code, signal) => this.exitedWith(code, signal));
    request.pipe.onPayload((payload) => this.send({ kind: 'signal', payload }));
    request.pipe.onFailure((err) => this.send({ kind: 'signal-failed', error: toWire(err) }));
    const abort = (): void =>
      this.send({ kind: 'abort', error: toWire(toPeerlaneError(request.abort.reason, 'PEER_LOST')) });
    request.abort.addEventListener('abort', abort, { once: true });
    if (request.abort.aborted) abort();
    this.send({
      kind: 'start',
      v: ATTEMPT_PROTOCOL_VERSION,
      role: request.role,
      attempt: request.attempt,
      key: spec.key.toString('hex'),
      rtc: spec.rtc,
      previousPath: request.previousPath,
      heartbeat: spec.heartbeat,
    });
  }

  /** Run the transfer in the child; `hooks` hear its progress and file events, and answer its consent question. */
  run(job: Job, hooks: JobHooks): Promise<TransferResult> {
    const remote = new RemoteJob(hooks, (msg) => this.send(msg), this.failure);
    this.job = remote;
    if (this.exited) remote.fail(this.failed ?? new PeerlaneError('PEER_LOST', 'the attempt ended'));
    else this.send({ kind: 'run', job });
    return remote.result;
  }

  guard<T>(step: Promise<T>): Promise<T> {
    return Promise.race([step, this.failure]);
  }

  abort(err: PeerlaneError): void {
    this.send({ kind: 'framed', op: 'abort', error: toWire(err) });
    this.fail(err, undefined);
  }

  lose(reason: LossReason, err: PeerlaneError): void {
    this.send({ kind: 'framed', op: 'lose', reason, error: toWire(err) });
    this.fail(err, reason);
  }

  lossBehind(_err: unknown): LossReason | undefined {
    return this.lostReason ?? this.loss;
  }

  /** The child's framed link stops with its process. */
  stop(): void {}

  private linkFacts(): SessionLink['link'] {
    const opened = (): Opened => {
      if (this.facts === undefined) throw new PeerlaneError('INTERNAL', 'the attempt has not opened');
      return this.facts;
    };
    const self = this;
    return {
      get transport() {
        return opened().transport;
      },
      get isOpen() {
        return self.closedWith === undefined;
      },
      pathInfo: () => opened().path,
      fingerprints: () => opened().fingerprints,
      onPathChange: (_from, handler) => {
        this.pathHandler = handler;
      },
      onClose: (handler) => {
        if (this.closedWith !== undefined) handler(this.closedWith);
        else this.closeHandlers.push(handler);
      },
      close: () => this.dispose(),
    };
  }

  /** Ask the child to close its link and exit; kill it if it cannot (a close stuck in the lock). */
  private dispose(): void {
    if (this.exited) return;
    this.send({ kind: 'close' });
    setTimeout(() => this.child.kill('SIGKILL'), CHILD_EXIT_GRACE_MS).unref();
  }

  private send(msg: ToChild): void {
    if (this.exited || !this.child.connected) return;
    this.child.send(msg, () => {}); // a channel closing meanwhile is reported by 'exit'
  }

  private heard(raw: unknown): void {
    let msg: FromChild;
    try {
      msg = parseFromChild(raw);
    } catch (err) {
      this.frozen = toPeerlaneError(err);
      this.child.kill('SIGKILL');
      return;
    }
    this.watchdog.beat();
    this.handle(msg);
  }

  private handle(msg: FromChild): void {
    switch (msg.kind) {
      case 'beat':
        return;
      case 'signal':
        try {
          this.request.pipe.sendPayload(msg.payload);
        } catch (err) {
          this.send({ kind: 'signal-failed', error: toWire(toPeerlaneError(err, 'SIGNAL_CLOSED')) });
        }
        return;
      case 'open':
        this.facts = msg;
        this.settleOpen();
        return;
      case 'connect-failed':
        this.settleOpen(fromWire(msg.error));
        return;
      case 'path':
        this.facts = this.facts && { ...this.facts, path: msg.path };
        this.pathHandler?.(msg.path);
        return;
      case 'failure':
        this.fail(fromWire(msg.error), msg.lostReason);
        return;
      case 'link-closed':
        this.closed(fromWire(msg.error));
        return;
      case 'failed':
        this.loss = msg.loss;
        // The child waited for the peer's farewell already (PeerSession.run's, in process).
        this.closed(fromWire(msg.error));
        this.job?.handle(msg);
        return;
      default:
        this.job?.handle(msg);
    }
  }

  private fail(err: PeerlaneError, reason: LossReason | undefined): void {
    if (this.failed !== undefined) return;
    this.failed = err;
    this.lostReason = reason;
    this.rejectFailure(err);
  }

  private closed(err: PeerlaneError): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = err;
    for (const handler of this.closeHandlers.splice(0)) handler(err);
  }

  /** The child is gone: whatever it had not settled fails, as a lost link (a new attempt mends it). */
  private exitedWith(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    this.watchdog.stop();
    const err =
      this.frozen ??
      new PeerlaneError(
        'PEER_LOST',
        `the connection attempt's process ended (${signal ?? `exit status ${String(code)}`})`,
      );
    this.settleOpen(err);
    this.fail(err, 'link-closed');
    this.closed(err);
    this.job?.fail(err);
  }
}
