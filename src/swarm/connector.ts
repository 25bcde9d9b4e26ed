/**
 * A swarm member's links to the other members: join the swarm at the
 * tracker (the signal server, core/swarm/tracker-client.ts), and open an
 * authenticated MessageLink to any member through the same race as the CLI
 * pair (session/race.ts openLink: direct TCP against a data channel), its
 * signaling sealed under the swarm secret (core/swarm/member-pipe.ts).
 *
 * Each attempt has a fresh id; its dialer is the offerer. Two members that
 * dial each other at once make one link: the lower member id's attempt wins
 * (the lower side ignores the other's; the higher abandons its own, answers,
 * and its connect() resolves with that link). A connect() to a member dialing
 * us takes that incoming link (onLink does not hear of it); one to a member
 * we are dialing joins our attempt.
 *
 * Losing the tracker ends the attempts under way (SIGNAL_CLOSED) but not the
 * links: the client gets back in as the same member (tracker-client.ts).
 * Attempts add the TURN credentials of our latest announce, as a pair's do
 * (rtcWithGrant), but none about to expire (liveGrant): those are replaced first
 * (`swarm-turn`), and an attempt goes without if no new ones come in time.
 */
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { MessageLink } from '../core/link.js';
import { encodeRtcSignal } from '../core/signaling/rtc-signal.js';
import { isMemberId } from '../core/signaling/swarm.js';
import type { TurnGrant } from '../core/signaling/turn-grant.js';
import { liveGrant } from '../core/signaling/turn-grant.js';
import { attemptLinkKey, swarmId, swarmSealKey } from '../core/swarm/keys.js';
import { MemberChannel, newAttemptId, parseMemberPayload, refusal } from '../core/swarm/member-pipe.js';
import { SwarmClient } from '../core/swarm/tracker-client.js';
import type { RtcOptions } from '../rtc/connect.js';
import { nodeAesGcm } from '../secure/node-aead.js';
import { rtcWithGrant } from '../session/common.js';
import { openLink } from '../session/race.js';
import type { SignalAddress } from '../signaling/socket.js';
import { tcpDialer } from '../signaling/socket.js';

export interface SwarmConnector {
  /** Ours at the tracker: random 128-bit, base64url, fresh per process run. */
  readonly memberId: string;
  /** The other members the tracker told us of, now. */
  members(): string[];
  onMember(handler: (memberId: string, joined: boolean) => void): void;
  /** Open an authenticated link to a member (openLink: direct TCP raced against a data channel). */
  connect(memberId: string, abort?: AbortSignal): Promise<MessageLink>;
  /** Links members opened to us. */
  onLink(handler: (link: MessageLink, memberId: string) => void): void;
  close(): Promise<void>;
}

export interface JoinOptions {
  signal: SignalAddress;
  /** 16 bytes, from the ticket. */
  secret: Uint8Array;
  /** bindAddress 127.0.0.1 in tests. */
  rtc: RtcOptions;
  /** Add the TURN credentials the tracker issues to `rtc.iceServers` (default true), as SessionOptions's. */
  issuedTurn?: boolean;
  abort?: AbortSignal;
}

/** Connect to the tracker and announce; resolves once we are a member. */
export function joinSwarm(options: JoinOptions): Promise<SwarmConnector> {
  return joinSwarmById(options, swarmId(options.secret));
}

/**
 * Join `swarm` whatever the secret: what one who learned a swarm id but not its
 * secret can do. For tests of that: members refuse its links (SWARM_AUTH_FAILED).
 */
export async function joinSwarmById(options: JoinOptions, swarm: string): Promise<SwarmConnector> {
  if (options.abort?.aborted) throw toPeerlaneError(options.abort.reason, 'INTERRUPTED');
  const client = await SwarmClient.connect(tcpDialer(options.signal));
  const connector = new Connector(client, swarm, options);
  try {
    await connector.announce();
  } catch (err) {
    await connector.close();
    throw err;
  }
  return connector;
}

/** One link attempt with one member. */
interface Attempt {
  readonly id: string;
  readonly member: string;
  readonly channel: MemberChannel;
  readonly abort: AbortController;
  readonly result: Promise<MessageLink>;
  /** A connect() is waiting for it, so onLink does not hear of it. */
  claimed: boolean;
  /** Replaced by another attempt with the same member: connect() moves on to that one. */
  superseded: boolean;
}

const MAX_IGNORED = 1024; // attempt ids ignored, whose late payloads must start nothing
/** How long an attempt waits for new TURN credentials: the tracker answers at once, or is in trouble. */
const REFRESH_WAIT_MS = 3_000;

class Connector implements SwarmConnector {
  private readonly outgoing = new Map<string, Attempt>();
  private readonly incoming = new Map<string, Attempt>();
  /** Attempts by `member attempt-id`. */
  private readonly attempts = new Map<string, Attempt>();
  private readonly ignored = new Set<string>();
  private readonly memberHandlers: ((memberId: string, joined: boolean) => void)[] = [];
  private readonly linkHandlers: ((link: MessageLink, memberId: string) => void)[] = [];
  private readonly sealKey: Uint8Array;
  /** As a pair's: where no other relay is named, the signal server's own (when it relays). */
  private readonly rtc: RtcOptions;
  private failure: PeerlaneError | undefined;

  constructor(
    private readonly client: SwarmClient,
    private readonly swarm: string,
    private readonly options: JoinOptions,
  ) {
    this.sealKey = swarmSealKey(options.secret);
    // Every member is a peerlane CLI (or library): loopback may use its largest MTU.
    this.rtc = { ...options.rtc, relayAddress: options.rtc.relayAddress ?? options.signal, peerAgent: 'cli' };
    client.onMember((s, member, joined) => {
      if (s === swarm) this.memberChanged(member, joined);
    });
    client.onRelay((s, from, payload) => {
      if (s === swarm) this.relayed(from, payload);
    });
    client.onFailure((err) => this.lost(err));
    // Back soon as the same member, but what the attempts under way sent meanwhile is lost.
    client.onInterrupted((err) => this.lost(err, false));
    options.abort?.addEventListener('abort', this.aborted, { once: true });
  }

  private readonly aborted = (): void => void this.close();

  async announce(): Promise<void> {
    await this.client.announce(this.swarm);
  }

  get memberId(): string {
    return this.client.memberIn(this.swarm) ?? '';
  }

  members(): string[] {
    return this.client.members(this.swarm);
  }

  onMember(handler: (memberId: string, joined: boolean) => void): void {
    this.memberHandlers.push(handler);
  }

  onLink(handler: (link: MessageLink, memberId: string) => void): void {
    this.linkHandlers.push(handler);
  }

  async connect(memberId: string, abort?: AbortSignal): Promise<MessageLink> {
    if (this.failure !== undefined) throw this.failure;
    // Not checked against members(): a new member may be dialed before its notice comes; the tracker answers a non-member.
    if (!isMemberId(memberId) || memberId === this.memberId) {
      throw new PeerlaneError('PEER_NOT_FOUND', 'that is no other member’s id');
    }
    if (abort?.aborted) throw toPeerlaneError(abort.reason, 'INTERRUPTED');
    return this.linkTo(memberId, abort);
  }

  /**
   * The link of the attempt under way with `member` (ours, else theirs), or
   * of a new one of ours. `abort` ends whichever attempt it waits on.
   */
  private async linkTo(member: string, abort: AbortSignal | undefined): Promise<MessageLink> {
    for (;;) {
      const attempt = this.outgoing.get(member) ?? this.incoming.get(member) ?? this.dial(member);
      attempt.claimed = true;
      const stop = (): void => attempt.abort.abort(toPeerlaneError(abort?.reason, 'INTERRUPTED'));
      abort?.addEventListener('abort', stop, { once: true });
      try {
        return await attempt.result;
      } catch (err) {
        if (!attempt.superseded) throw err;
      } finally {
        abort?.removeEventListener('abort', stop);
      }
    }
  }

  private dial(member: string): Attempt {
    const id = newAttemptId();
    const channel = this.channel(member, id, this.memberId);
    // The opening: whatever the link sends first (with transport relay, nothing
    // through the tracker), this tells the member an attempt has begun.
    channel.sendPayload(encodeRtcSignal({ kind: 'keepalive' }));
    const attempt = this.start(member, id, channel, 'offerer');
    this.outgoing.set(member, attempt);
    return attempt;
  }

  private channel(member: string, id: string, dialer: string): MemberChannel {
    return new MemberChannel({
      client: this.client,
      swarm: this.swarm,
      me: this.memberId,
      them: member,
      dialer,
      attempt: id,
      sealKey: this.sealKey,
      aead: nodeAesGcm,
    });
  }

  private start(member: string, id: string, channel: MemberChannel, role: 'offerer' | 'answerer'): Attempt {
    const abort = new AbortController();
    const key = Buffer.from(attemptLinkKey(this.options.secret, this.memberId, member, id));
    const opened = this.grant().then((grant) => {
      const rtc = rtcWithGrant({ ...this.options, rtc: this.rtc }, grant);
      return openLink(role, channel, rtc, key, { attempt: 0, abort: abort.signal });
    });
    const result = opened.catch((err: unknown) => {
      throw channel.explain(toPeerlaneError(err));
    });
    const attempt: Attempt = { id, member, channel, abort, result, claimed: false, superseded: false };
    this.attempts.set(`${member} ${id}`, attempt);
    result.then(
      (link) => this.settled(attempt, link),
      () => this.settled(attempt, undefined),
    );
    return attempt;
  }

  /** The TURN credentials for an attempt starting now: ours, or new ones if ours are near their expiry. */
  private async grant(): Promise<TurnGrant | undefined> {
    const held = this.client.turnGrant(this.swarm);
    if (held === undefined || this.options.issuedTurn === false) return undefined;
    return (
      liveGrant(held, Date.now()) ??
      liveGrant(await this.client.refreshTurn(this.swarm, REFRESH_WAIT_MS), Date.now())
    );
  }

  private settled(attempt: Attempt, link: MessageLink | undefined): void {
    const { member } = attempt;
    const key = `${member} ${attempt.id}`;
    this.attempts.delete(key);
    // What comes late for it (a candidate, a choice) is not a new attempt.
    this.ignore(key);
    if (this.outgoing.get(member) === attempt) this.outgoing.delete(member);
    if (this.incoming.get(member) === attempt) this.incoming.delete(member);
    if (link === undefined || attempt.claimed) return;
    if (this.failure?.code === 'INTERRUPTED')
      link.close(); // we left meanwhile
    else for (const handler of this.linkHandlers) handler(link, member);
  }

  /** A payload from `from`: for an attempt under way, or the first of a new one of theirs. */
  private relayed(from: string, raw: string): void {
    let payload: { c: string; p: string };
    try {
      payload = parseMemberPayload(raw);
    } catch {
      return; // not one of ours: nothing to answer
    }
    const key = `${from} ${payload.c}`;
    const known = this.attempts.get(key);
    if (known !== undefined) {
      known.channel.receive(payload.p);
      return;
    }
    if (this.ignored.has(key) || this.failure !== undefined) return;
    const ours = this.outgoing.get(from);
    if (ours !== undefined && this.memberId < from) {
      // Both dialed: ours wins (the lower dialer's), and they drop theirs on seeing it.
      this.ignore(key);
      return;
    }
    // Opened before anything is set up for it: one that does not open costs a refusal, no more.
    const channel = this.channel(from, payload.c, from);
    channel.receive(payload.p);
    if (channel.authFailed) {
      this.ignore(key);
      this.client.send(this.swarm, from, refusal(payload.c));
      return;
    }
    const previous = this.incoming.get(from);
    const attempt = this.start(from, payload.c, channel, 'answerer');
    this.incoming.set(from, attempt);
    // Our own dial, or their earlier attempt, gives way; whoever waited on it moves to this one.
    for (const old of [ours, previous]) {
      if (old === undefined) continue;
      old.superseded = true;
      if (old.claimed) attempt.claimed = true;
      old.abort.abort(new PeerlaneError('PEER_LOST', 'superseded by the other member’s attempt'));
    }
  }

  /** Drop the payloads of attempt `key` from now on. */
  private ignore(key: string): void {
    if (this.ignored.size >= MAX_IGNORED) this.ignored.clear();
    this.ignored.add(key);
  }

  private memberChanged(member: string, joined: boolean): void {
    if (!joined) {
      const gone = new PeerlaneError('PEER_NOT_FOUND', 'that member is not in the swarm (any more)');
      for (const attempt of [this.outgoing.get(member), this.incoming.get(member)])
        attempt?.abort.abort(gone);
    }
    for (const handler of this.memberHandlers) handler(member, joined);
  }

  /** The attempts under way end; for good (the tracker is gone, or we left), also any to come. Links carry on. */
  private lost(err: PeerlaneError, forGood = true): void {
    if (forGood) this.failure ??= err;
    for (const attempt of this.attempts.values()) attempt.abort.abort(err);
  }

  async close(): Promise<void> {
    this.options.abort?.removeEventListener('abort', this.aborted);
    this.lost(new PeerlaneError('INTERRUPTED', 'left the swarm'));
    this.client.close();
  }
}
