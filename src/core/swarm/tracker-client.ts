/**
 * A swarm member's side of the tracker (core/signaling/swarm.ts): announce
 * to a swarm, hear who joins and leaves, and exchange opaque payloads with
 * other members through the server. Over the same injected SignalTransport
 * as the pair's SignalClient (client.ts): TCP in Node, a WebSocket in a
 * browser. What the payloads carry is member-pipe.ts's business.
 *
 * Set the handlers before announcing: a notice with no handler is dropped.
 */
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { SignalDialer, SignalTransport } from '../signaling/client.js';
import { LineDecoder } from '../signaling/framing.js';
import type { ServerMessage } from '../signaling/protocol.js';
import { encodeMessage, MAX_SIGNAL_MESSAGE_BYTES, parseServerMessage } from '../signaling/protocol.js';

/** What the tracker answered an announce with: our member id there, and who else is in. */
export interface Announced {
  member: string;
  members: string[];
}

type Announcing = { resolve: (a: Announced) => void; reject: (err: PeerlaneError) => void };

export class SwarmClient {
  private readonly announcing = new Map<string, Announcing>();
  /**
   * Our member id and the others', per swarm announced, as the tracker's
   * notices arrive: kept here, in the order they come, so that a payload read
   * in the same chunk as `announced` already finds us a member.
   */
  private readonly rosters = new Map<string, { member: string; members: Set<string> }>();
  private memberHandler: ((swarm: string, member: string, joined: boolean) => void) | undefined;
  private relayHandler: ((swarm: string, from: string, payload: string) => void) | undefined;
  private failureHandler: ((err: PeerlaneError) => void) | undefined;
  private failure: PeerlaneError | undefined;
  private closedByUs = false;

  private constructor(private readonly transport: SignalTransport) {
    const decoder = new LineDecoder(MAX_SIGNAL_MESSAGE_BYTES);
    transport.onData((chunk) => {
      try {
        for (const line of decoder.push(chunk)) this.dispatch(parseServerMessage(line));
      } catch (err) {
        this.fail(toPeerlaneError(err, 'BAD_MESSAGE'));
        transport.close();
      }
    });
    transport.onClose((cause) => {
      const why = cause?.message ?? 'the signal server closed the connection';
      this.fail(new PeerlaneError('SIGNAL_CLOSED', why, { cause }));
    });
  }

  /** Connect through `dial` (signaling/socket.ts dials TCP). Rejects with SIGNAL_UNREACHABLE. */
  static async connect(dial: SignalDialer): Promise<SwarmClient> {
    return new SwarmClient(await dial());
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

  /** The other members of `swarm` we know of, now. */
  members(swarm: string): string[] {
    return [...(this.rosters.get(swarm)?.members ?? [])];
  }

  /** Relay `payload` to member `to` of `swarm`. */
  send(swarm: string, to: string, payload: string): void {
    if (this.failure !== undefined) throw this.failure;
    this.transport.write(encodeMessage({ type: 'swarm-relay', swarm, to, payload }));
  }

  /** Members joining and leaving our swarms (a relay to one that left also tells). */
  onMember(handler: (swarm: string, member: string, joined: boolean) => void): void {
    this.memberHandler = handler;
  }

  /** Payloads other members relayed to us; `from` is the server's word, never theirs. */
  onRelay(handler: (swarm: string, from: string, payload: string) => void): void {
    this.relayHandler = handler;
  }

  /** Once: the server sent an error, or the connection is gone. */
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
      case 'announced': {
        const waiting = this.announcing.get(msg.swarm);
        if (waiting === undefined)
          throw new PeerlaneError('BAD_MESSAGE', 'announced in a swarm not asked for');
        this.announcing.delete(msg.swarm);
        this.rosters.set(msg.swarm, { member: msg.member, members: new Set(msg.members) });
        waiting.resolve({ member: msg.member, members: msg.members });
        return;
      }
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
      case 'error':
        this.fail(new PeerlaneError(msg.code, msg.message));
        return;
      default:
        this.fail(new PeerlaneError('BAD_MESSAGE', `unexpected "${msg.type}" from the tracker`));
    }
  }

  private fail(err: PeerlaneError): void {
    if (this.failure !== undefined || this.closedByUs) return;
    this.failure = err;
    for (const waiting of this.announcing.values()) waiting.reject(err);
    this.announcing.clear();
    this.failureHandler?.(err);
  }
}
