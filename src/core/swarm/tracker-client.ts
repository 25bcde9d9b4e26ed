/**
 * A swarm member's side of the tracker (core/signaling/swarm.ts): announce
 * to a swarm, hear who joins and leaves, and exchange opaque payloads with
 * other members through the server. Over the same injected SignalTransport
 * as the pair's SignalClient (client.ts): TCP in Node, a WebSocket in a
 * browser. What the payloads carry is member-pipe.ts's business.
 *
 * A member outlives its connection: when it drops (a server restart, a
 * network blip), the client dials again, with backoff, and announces with the
 * member id and token it was given, so it stays the same member; who joined
 * or left meanwhile is told as if it had been heard. Payloads sent while it
 * is away are lost, so onInterrupted tells the link attempts under way to
 * give up. Only when no reconnection works, or the server refuses us, does
 * onFailure fire.
 *
 * Set the handlers before announcing: a notice with no handler is dropped.
 */
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { ServerMessage, TurnGrant } from '../signaling/protocol.js';
import { encodeMessage } from '../signaling/protocol.js';
import type { SignalDialer, SignalTransport } from '../signaling/transport.js';
import { readServerMessages, redial } from '../signaling/transport.js';

/**
 * Waits between tries to get back to the tracker: 100 ms doubling to 5 s, a
 * minute in all. A seeder has nothing better to do, and a restarting server
 * takes seconds.
 */
const REJOIN_DELAYS_MS = [100, 200, 400, 800, 1600, 3200, ...Array<number>(10).fill(5000)];

/** What the tracker answered an announce with: our member id there, and who else is in. */
export interface Announced {
  member: string;
  members: string[];
}

type Announcing = { resolve: (a: Announced) => void; reject: (err: PeerlaneError) => void };

/** Our place in one swarm: what the tracker gave us, and who else is in, as its notices arrive. */
interface Roster {
  member: string;
  token: string;
  members: Set<string>;
  /** The latest TURN credentials the tracker gave us here (each announce brings new ones). */
  turn: TurnGrant | undefined;
}

export class SwarmClient {
  private readonly announcing = new Map<string, Announcing>();
  /**
   * Kept here, in the order the notices come, so that a payload read in the
   * same chunk as `announced` already finds us a member.
   */
  private readonly rosters = new Map<string, Roster>();
  /** Who waits for new TURN credentials, per swarm (refreshTurn). */
  private readonly refreshing = new Map<string, (() => void)[]>();
  private memberHandler: ((swarm: string, member: string, joined: boolean) => void) | undefined;
  private relayHandler: ((swarm: string, from: string, payload: string) => void) | undefined;
  private failureHandler: ((err: PeerlaneError) => void) | undefined;
  private interruptedHandler: ((err: PeerlaneError) => void) | undefined;
  private failure: PeerlaneError | undefined;
  private closedByUs = false;
  /** False while it dials again: what is sent meanwhile is dropped. */
  private connected = true;

  private constructor(
    private transport: SignalTransport,
    private readonly dial: SignalDialer,
  ) {
    this.attach(transport);
  }

  /** Connect through `dial` (signaling/socket.ts dials TCP). Rejects with SIGNAL_UNREACHABLE. */
  static async connect(dial: SignalDialer): Promise<SwarmClient> {
    return new SwarmClient(await dial(), dial);
  }

  private attach(transport: SignalTransport): void {
    readServerMessages(
      transport,
      (msg) => this.dispatch(msg),
      (err) => this.fail(err),
    );
    transport.onClose((cause) => {
      if (transport !== this.transport || this.closedByUs || this.failure !== undefined) return;
      const why = cause?.message ?? 'the signal server closed the connection';
      const err = new PeerlaneError('SIGNAL_CLOSED', why, { cause });
      if (this.rosters.size === 0) {
        this.fail(err); // not a member anywhere yet: nothing to come back as
        return;
      }
      this.connected = false;
      this.interruptedHandler?.(err);
      void this.rejoin();
    });
  }

  /** Dial again and announce as the same member in each swarm, or fail saying why not. */
  private async rejoin(): Promise<void> {
    let transport: SignalTransport | undefined;
    try {
      transport = await redial(
        this.dial,
        REJOIN_DELAYS_MS,
        () => this.closedByUs || this.failure !== undefined,
      );
    } catch (err) {
      const last = toPeerlaneError(err);
      this.fail(new PeerlaneError('SIGNAL_CLOSED', `lost the tracker: ${last.message}`, { cause: last }));
      return;
    }
    if (transport === undefined) return;
    this.transport = transport;
    this.attach(transport);
    this.connected = true;
    for (const [swarm, { member, token }] of this.rosters) {
      transport.write(encodeMessage({ type: 'announce', swarm, member, token }));
    }
  }

  /** Join `swarm` (64 hex digits, core/swarm/keys.ts swarmId); resolves with our member id and the others'. */
  announce(swarm: string): Promise<Announced> {
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) throw this.failure;
      this.announcing.set(swarm, { resolve, reject });
      this.transport.write(encodeMessage({ type: 'announce', swarm }));
    });
  }

  /** Our member id in `swarm`, once announced. */
  memberIn(swarm: string): string | undefined {
    return this.rosters.get(swarm)?.member;
  }

  /** The TURN credentials of our latest announce in `swarm`, if the server issues any (they may have expired). */
  turnGrant(swarm: string): TurnGrant | undefined {
    return this.rosters.get(swarm)?.turn;
  }

  /**
   * Ask for new TURN credentials in `swarm` (swarm.ts `swarm-turn`); resolves
   * with the latest we hold once the answer comes, or after `waitMs`.
   */
  refreshTurn(swarm: string, waitMs: number): Promise<TurnGrant | undefined> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve(this.turnGrant(swarm));
      };
      const timer = setTimeout(() => {
        // No answer: the next one asks again.
        if (this.refreshing.get(swarm)?.includes(done)) this.refreshing.delete(swarm);
        done();
      }, waitMs);
      const waiting = this.refreshing.get(swarm);
      if (waiting !== undefined) return void waiting.push(done); // one question in flight is enough
      this.refreshing.set(swarm, [done]);
      if (this.connected && this.failure === undefined)
        this.transport.write(encodeMessage({ type: 'swarm-turn', swarm }));
    });
  }

  /** The other members of `swarm` we know of, now. */
  members(swarm: string): string[] {
    return [...(this.rosters.get(swarm)?.members ?? [])];
  }

  /** Relay `payload` to member `to` of `swarm`; dropped while reconnecting. */
  send(swarm: string, to: string, payload: string): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.connected) this.transport.write(encodeMessage({ type: 'swarm-relay', swarm, to, payload }));
  }

  /** Members joining and leaving our swarms (a relay to one that left also tells). */
  onMember(handler: (swarm: string, member: string, joined: boolean) => void): void {
    this.memberHandler = handler;
  }

  /** Payloads other members relayed to us; `from` is the server's word, never theirs. */
  onRelay(handler: (swarm: string, from: string, payload: string) => void): void {
    this.relayHandler = handler;
  }

  /** Each time the connection drops and the client starts to dial again. */
  onInterrupted(handler: (err: PeerlaneError) => void): void {
    this.interruptedHandler = handler;
  }

  /** Once: the server sent an error, or the connection is gone for good. */
  onFailure(handler: (err: PeerlaneError) => void): void {
    this.failureHandler = handler;
    if (this.failure !== undefined) handler(this.failure);
  }

  /** Leave every swarm (the server tells their members) and hear nothing more. */
  close(): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    const closed = new PeerlaneError('SIGNAL_CLOSED', 'the swarm connection was closed');
    for (const waiting of this.announcing.values()) waiting.reject(closed);
    this.announcing.clear();
    this.failure ??= closed;
    this.transport.close();
  }

  private dispatch(msg: ServerMessage): void {
    switch (msg.type) {
      case 'announced':
        this.announced(msg);
        return;
      case 'member': {
        const members = this.rosters.get(msg.swarm)?.members;
        if (msg.joined) members?.add(msg.member);
        else members?.delete(msg.member);
        this.memberHandler?.(msg.swarm, msg.member, msg.joined);
        return;
      }
      case 'swarm-relay':
        this.relayHandler?.(msg.swarm, msg.from, msg.payload);
        return;
      case 'swarm-turn': {
        const roster = this.rosters.get(msg.swarm);
        if (roster !== undefined && msg.turn !== undefined) roster.turn = msg.turn;
        const waiting = this.refreshing.get(msg.swarm) ?? [];
        this.refreshing.delete(msg.swarm);
        for (const done of waiting) done();
        return;
      }
      case 'error':
        this.fail(new PeerlaneError(msg.code, msg.message));
        return;
      default:
        this.fail(new PeerlaneError('BAD_MESSAGE', `unexpected "${msg.type}" from the tracker`));
    }
  }

  /** Our first announce answered, or our return after a reconnection (then: who came and went meanwhile). */
  private announced(msg: Extract<ServerMessage, { type: 'announced' }>): void {
    const { swarm, member, token } = msg;
    const members = new Set(msg.members);
    const waiting = this.announcing.get(swarm);
    if (waiting !== undefined) {
      this.announcing.delete(swarm);
      this.rosters.set(swarm, { member, token, members, turn: msg.turn });
      waiting.resolve({ member, members: msg.members });
      return;
    }
    const roster = this.rosters.get(swarm);
    if (roster?.member !== member)
      throw new PeerlaneError('BAD_MESSAGE', 'announced in a swarm not asked for');
    const before = roster.members;
    roster.members = members;
    roster.turn = msg.turn ?? roster.turn; // none past the budget: the old ones, while they last
    for (const m of before) if (!members.has(m)) this.memberHandler?.(swarm, m, false);
    for (const m of members) if (!before.has(m)) this.memberHandler?.(swarm, m, true);
  }

  private fail(err: PeerlaneError): void {
    if (this.failure !== undefined || this.closedByUs) return;
    this.failure = err;
    for (const waiting of this.announcing.values()) waiting.reject(err);
    this.announcing.clear();
    this.failureHandler?.(err);
  }
}
