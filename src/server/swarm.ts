/**
 * The signal server as a swarm's tracker (core/signaling/swarm.ts has the
 * messages and a sequence diagram): what `announce` and `swarm-relay` mean,
 * and a member's leaving when its connection closes. Who is in which swarm
 * lives in the shared state (swarm-book.ts), so that members announced on
 * instances sharing Redis see each other, and their relays cross over
 * pub/sub like a pair's.
 *
 * A member has no idle deadline: a seeder may say nothing for hours. What it
 * holds is bounded instead: its connection counts against the per-address
 * and total caps, its swarms against SIGNAL_SWARMS_PER_CONNECTION, and TCP
 * keepalive finds a member whose host vanished.
 */
import net from 'node:net';
import { PeerlaneError } from '../core/errors.js';
import type { ClientMessage, TurnGrant } from '../core/signaling/protocol.js';
import { encodeMessage } from '../core/signaling/protocol.js';
import type { Client } from './clients.js';
import type { SignalMetrics } from './metrics.js';
import { TokenBucket } from './rate-limit.js';
import type { SignalLimits } from './server-config.js';
import { newResumeToken } from './state.js';
import type { ClientRef, Envelope, SignalState, SwarmMember } from './types.js';

/**
 * Idle time before TCP keepalive probes a member's connection: a member that
 * vanished without a FIN leaves its swarm within a few minutes (the kernel's
 * probes follow), not at the OS default of two hours.
 */
const MEMBER_KEEPALIVE_MS = 60_000;

/** What the tracker needs of the client table (handlers.ts). */
export interface TrackerHost {
  state(): SignalState;
  ref(client: Client): ClientRef;
  route(to: ClientRef, envelope: Envelope): void;
  /** Write an encoded server message to a client of this instance. */
  write(client: Client, frame: string): void;
  /** Pay one register/join token of the client's address (RATE_LIMITED if none is left). */
  pay(client: Client): Promise<void>;
  /** Whether the client is still connected and in good standing. */
  alive(client: Client): boolean;
  /** TURN credentials for the member's links, if the server issues them and its address's budget allows. */
  grant(client: Client): { turn?: TurnGrant };
  log(message: string): void;
}

type Message<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;

export class SwarmTracker {
  /** Members announced on this instance, per swarm: the metrics' gauges. */
  private readonly local = new Map<string, number>();

  constructor(
    private readonly host: TrackerHost,
    private readonly limits: Readonly<SignalLimits>,
    private readonly metrics: SignalMetrics,
    private readonly now: () => number,
  ) {}

  /** Swarms with a member here, and members here. */
  get stats(): { swarms: number; members: number } {
    let members = 0;
    for (const n of this.local.values()) members += n;
    return { swarms: this.local.size, members };
  }

  async announce(client: Client, msg: Message<'announce'>): Promise<void> {
    const { swarm } = msg;
    if (client.nameplate !== undefined) throw new PeerlaneError('BAD_MESSAGE', 'already registered');
    const swarms = client.swarms ?? new Map<string, string>();
    if (swarms.has(swarm)) throw new PeerlaneError('BAD_MESSAGE', 'already announced in that swarm');
    if (swarms.size >= this.limits.swarmsPerConnection) {
      throw new PeerlaneError('RATE_LIMITED', 'in too many swarms on one connection');
    }
    await this.host.pay(client);
    // Back on a new connection, or new: then its id and token are fresh.
    const member = msg.member ?? newResumeToken();
    const token = msg.token ?? newResumeToken();
    const ref = this.host.ref(client);
    const holder = { ...ref, token };
    const joined = await this.host.state().swarms.join(swarm, member, holder, this.limits.swarmMembers);
    if (joined === 'full') throw new PeerlaneError('SERVER_BUSY', 'that swarm is full on this server');
    if (joined === 'taken')
      throw new PeerlaneError('BAD_MESSAGE', 'that member id is held with another token');
    const { others } = joined;
    if (!this.host.alive(client)) {
      // Gone while we waited on the shared state: its leave found nothing to remove.
      // A member that was back (its id given) was known to the others: they hear it left.
      this.forget(swarm, member, ref, msg.member !== undefined);
      return;
    }
    swarms.set(swarm, member);
    client.swarms = swarms;
    this.local.set(swarm, (this.local.get(swarm) ?? 0) + 1);
    clearTimeout(client.timer); // the handshake's deadline: a member has none (see above)
    client.timer = undefined;
    // A WebSocket member's TCP is the HTTP server's to keep; a plain one is ours.
    if (client.socket instanceof net.Socket) client.socket.setKeepAlive(true, MEMBER_KEEPALIVE_MS);
    const members = others.map((o) => o.member);
    // Each announce, a member's return too, gets fresh credentials: they are short-lived.
    const grant = this.host.grant(client);
    this.host.write(client, encodeMessage({ type: 'announced', swarm, member, token, members, ...grant }));
    this.notify(others, swarm, member, true);
  }

  async relay(client: Client, msg: Message<'swarm-relay'>): Promise<void> {
    const { swarm, to, payload } = msg;
    const from = this.spend(client, swarm, 'relay');
    const target = await this.host.state().swarms.find(swarm, to);
    if (target === undefined) {
      // Left just before (its notice may be on its way): no fault of the sender's.
      this.host.write(client, encodeMessage({ type: 'member', swarm, member: to, joined: false }));
      return;
    }
    this.metrics.relayed.inc();
    const frame = encodeMessage({ type: 'swarm-relay', swarm, from, payload });
    this.host.route(target, { to: target.client, kind: 'swarm', swarm, frame });
  }

  /** New TURN credentials for a member, from the same budget as an announce's (none past it). */
  turn(client: Client, msg: Message<'swarm-turn'>): void {
    const { swarm } = msg;
    this.spend(client, swarm, 'TURN request');
    this.host.write(client, encodeMessage({ type: 'swarm-turn', swarm, ...this.host.grant(client) }));
  }

  /** The client's member id in `swarm`, once a token of its swarm-message bucket is paid. */
  private spend(client: Client, swarm: string, what: string): string {
    const member = client.swarms?.get(swarm);
    if (member === undefined) throw new PeerlaneError('BAD_MESSAGE', `${what} in a swarm not announced`);
    client.swarmRelays ??= new TokenBucket(
      { ratePerMinute: this.limits.swarmRelayRatePerMinute, burst: this.limits.swarmRelayBurst },
      this.now,
    );
    if (!client.swarmRelays.take()) throw new PeerlaneError('RATE_LIMITED', 'too many swarm relays');
    return member;
  }

  /** The client's connection is gone: it leaves each of its swarms, and their members hear of it. */
  leave(client: Client): void {
    const swarms = client.swarms;
    client.swarms = undefined;
    for (const [swarm, member] of swarms ?? []) {
      const left = (this.local.get(swarm) ?? 1) - 1;
      if (left > 0) this.local.set(swarm, left);
      else this.local.delete(swarm);
      this.forget(swarm, member, this.host.ref(client), true);
    }
  }

  /**
   * Take `member` out of `swarm` in the shared state, if `ref` still holds
   * it; with `tell`, the members left hear of it.
   */
  private forget(swarm: string, member: string, ref: ClientRef, tell = false): void {
    this.host
      .state()
      .swarms.leave(swarm, member, ref)
      .then((rest) => tell && rest !== undefined && this.notify(rest, swarm, member, false))
      .catch((err) => this.host.log(`swarm leave failed: ${err}`));
  }

  /** A frame for a member of this instance, written if it is still in that swarm. */
  deliver(client: Client | undefined, envelope: Extract<Envelope, { kind: 'swarm' }>): void {
    if (client?.swarms?.has(envelope.swarm)) this.host.write(client, envelope.frame);
  }

  private notify(members: SwarmMember[], swarm: string, member: string, joined: boolean): void {
    const frame = encodeMessage({ type: 'member', swarm, member, joined });
    for (const { ref } of members) this.host.route(ref, { to: ref.client, kind: 'swarm', swarm, frame });
  }
}
