/**
 * What each message of a client means to the signal server, and what each
 * envelope about one of its clients does. The phases, and the deadline of each
 * (ClientTable, clients.ts, keeps them):
 *
 *   connected --register--> waiting --joined--> paired
 *   handshake timeout       nameplate TTL       idle timeout (reset by each message)
 *
 * Nothing here listens or accepts: the server hands over each client and each
 * line it reads.
 */
import { PeerlaneError } from '../core/errors.js';
import type { ClientMessage, TurnGrant } from '../core/signaling/protocol.js';
import { encodeMessage, MAX_LISTED_PEERS } from '../core/signaling/protocol.js';
import type { Client, TableOptions } from './clients.js';
import { ClientTable } from './clients.js';
import { claimByName } from './directory.js';
import { TokenBucket } from './rate-limit.js';
import { newResumeToken, rateLimited } from './state.js';
import { SwarmTracker } from './swarm.js';
import type { TurnConfig } from './turn.js';
import { TurnGrants } from './turn-grants.js';
import type { BucketSpec, ClientRef, Envelope, Payer, SignalState } from './types.js';

export interface HandlerOptions extends TableOptions {
  turn: TurnConfig | undefined;
  /** Milliseconds: what relay buckets and TURN budgets refill by (the server's clock). */
  now: () => number;
  /**
   * `host:port` where peers reach this instance's relay, named in `paired` so
   * that both peers of a pairing meet on the joiner's instance; undefined: the
   * peers use the address they signal through (one instance).
   */
  relayAddress?: (() => string | undefined) | undefined;
}

/** The client message of one type. */
type Message<T extends ClientMessage['type']> = Extract<ClientMessage, { type: T }>;

export class SignalHandlers extends ClientTable {
  /** What a register or join costs an address (see payer()). */
  private readonly bucket: BucketSpec;
  private readonly turnGrants: TurnGrants;
  private readonly now: () => number;
  private readonly relayAddress: () => string | undefined;
  /** Announce and swarm-relay: the tracker (swarm.ts). */
  readonly tracker: SwarmTracker;

  constructor(state: SignalState, options: HandlerOptions) {
    super(state, options);
    this.tracker = new SwarmTracker(
      {
        state: () => this.state,
        ref: (client) => this.ref(client),
        route: (to, envelope) => this.route(to, envelope),
        write: (client, frame) => this.write(client, frame),
        pay: (client) => this.pay(client),
        alive: (client) => this.clients.has(client.id),
        grant: (client) => this.turnGrant(client, 'announced'),
        log: options.log,
      },
      this.limits,
      options.metrics,
      options.now,
    );
    this.relayAddress = options.relayAddress ?? (() => undefined);
    this.bucket = { ratePerMinute: this.limits.joinRatePerMinute, burst: this.limits.joinBurst };
    this.now = options.now;
    this.turnGrants = new TurnGrants(options.turn, this.limits.turnGrantsPerHour, options.now);
  }

  /** Forget TURN budgets that have refilled (the server calls this on its timer). */
  sweep(): void {
    this.turnGrants.sweep();
  }

  protected async handle(client: Client, msg: ClientMessage): Promise<void> {
    if (client.partner !== undefined) client.timer?.refresh(); // a paired client is not idle
    switch (msg.type) {
      case 'register':
        return this.register(client, msg);
      case 'reclaim':
        return this.reclaim(client, msg);
      case 'join':
        return this.join(client, msg);
      case 'list':
        return this.list(client);
      case 'relay':
        return this.relay(client, msg);
      case 'report':
        return this.report(client, msg);
      case 'announce':
        return this.tracker.announce(client, msg);
      case 'swarm-relay':
        return this.tracker.relay(client, msg);
      case 'swarm-turn':
        return this.tracker.turn(client, msg);
    }
  }

  /** Forget the client, and take it out of its swarms. */
  override drop(client: Client): void {
    super.drop(client);
    this.tracker.leave(client);
  }

  private async register(client: Client, msg: Message<'register'>): Promise<void> {
    this.introduce(client);
    const payer = await this.makeRoom(client);
    // A reclaim token is minted only where it is used (about 1% of a lone
    // instance's time otherwise): sent to receivers that can reclaim on
    // another instance, or naming the waiter in the directory.
    const resume = this.state.shared || msg.name !== undefined ? newResumeToken() : undefined;
    client.nameplate = await this.state.allocate(
      { ...this.ref(client), resume },
      this.limits.nameplateTtlMs,
      payer,
    );
    if (msg.name !== undefined && resume !== undefined) {
      await this.reserveName(client, msg.name, msg.listed === true, resume);
    }
    if (this.gone(client)) return;
    this.wait(client, this.limits.nameplateTtlMs, resume);
    this.options.log(`client ${client.id} registered`);
  }

  private async reclaim(client: Client, msg: Message<'reclaim'>): Promise<void> {
    await this.spendToken(client);
    const left = await this.state.reclaim(msg.nameplate, msg.token, this.ref(client));
    if (left === undefined) throw new PeerlaneError('PEER_NOT_FOUND', 'that nameplate is no longer held');
    client.nameplate = msg.nameplate;
    if (this.gone(client)) return;
    this.wait(client, left, msg.token);
    this.options.log(`client ${client.id} reclaimed its nameplate`);
  }

  /**
   * One pairing per nameplate, whichever instance holds it: a joiner gets
   * exactly one PAKE guess, and a wrong one ends the receiver's session.
   */
  private async join(client: Client, msg: Message<'join'>): Promise<void> {
    const byName = 'name' in msg;
    const found = await this.findHost(client, msg);
    const host = found?.host;
    if (found === undefined || host === undefined) {
      throw new PeerlaneError(
        'PEER_NOT_FOUND',
        byName ? 'no receiver is waiting under that name' : 'no receiver is waiting with that code',
      );
    }
    client.nameplate = found.nameplate;
    client.partner = host;
    client.joined = true;
    this.options.metrics.pairings.inc();
    this.arm(client, this.limits.idleTimeoutMs, 'BAD_MESSAGE', 'idle too long');
    // One fresh session id for both halves of the pairing: the peers' CPace sid.
    const sid = newResumeToken();
    const relay = this.relayAddress();
    this.route(host, {
      to: host.client,
      kind: 'paired',
      from: this.ref(client),
      sid,
      ...(relay ? { relay } : {}),
    });
    this.send(client, {
      type: 'paired',
      role: 'offerer',
      sid,
      ...(relay ? { relay } : {}),
      ...this.turnGrant(client, 'paired'),
      // Joined by name, it needs the nameplate for its PAKE transcript.
      ...(byName ? { nameplate: found.nameplate } : {}),
    });
    if (this.gone(client)) this.route(host, { to: host.client, kind: 'left' });
    this.options.log(
      `client ${client.id} joined a receiver on ${host.instance === this.state.instance ? 'this' : 'another'} instance`,
    );
  }

  /** The receiver a join names, taken from the shared state (paid for first); undefined if none waits. */
  private async findHost(
    client: Client,
    msg: Message<'join'>,
  ): Promise<{ nameplate: string; host: ClientRef | undefined } | undefined> {
    if ('name' in msg) {
      await this.spendToken(client); // before the lookup: guessing names costs too
      return claimByName(this.state, msg.name);
    }
    this.introduce(client);
    const host = await this.state.claim(msg.nameplate, undefined, this.payer(client));
    return { nameplate: msg.nameplate, host };
  }

  private async list(client: Client): Promise<void> {
    await this.spendToken(client);
    const names = await this.state.directory.list(MAX_LISTED_PEERS);
    this.send(client, { type: 'peers', peers: names.map((name) => ({ name })) });
  }

  private relay(client: Client, msg: Message<'relay'>): void {
    if (client.partner === undefined) throw new PeerlaneError('BAD_MESSAGE', 'relay before pairing');
    client.relays ??= new TokenBucket(
      { ratePerMinute: this.limits.relayRatePerMinute, burst: this.limits.relayBurst },
      this.now,
    );
    if (!client.relays.take()) throw new PeerlaneError('RATE_LIMITED', 'too many relayed messages');
    this.options.metrics.relayed.inc();
    const frame = encodeMessage({ type: 'relay', payload: msg.payload });
    this.route(client.partner, { to: client.partner.client, kind: 'relay', frame });
    this.holdBack(client);
  }

  /** A session's outcome, counted once per pairing: only the joiner's first report counts. */
  private report(client: Client, msg: Message<'report'>): void {
    if (!client.joined || client.reported) return;
    client.reported = true;
    this.options.metrics.session(msg.path);
  }

  /** Whether the client left while we waited on the shared state; its nameplate is then let go. */
  private gone(client: Client): boolean {
    if (this.clients.has(client.id)) return false;
    if (client.nameplate !== undefined && client.partner === undefined) {
      this.state.release(client.nameplate, this.ref(client)).catch(() => {});
      this.unname(client);
    }
    return true;
  }

  /** Make the client reachable as `name`, or give its nameplate back and fail with NAME_TAKEN. */
  private async reserveName(client: Client, name: string, listed: boolean, resume: string): Promise<void> {
    const nameplate = client.nameplate ?? '';
    const entry = { nameplate, resume, listed };
    if (await this.state.directory.reserve(name, entry, this.limits.nameplateTtlMs)) {
      client.named = { name, resume };
      return;
    }
    client.nameplate = undefined;
    await this.state.release(nameplate, this.ref(client));
    throw new PeerlaneError('NAME_TAKEN', `the name "${name}" is taken on this signal server`);
  }

  /** The client now waits under its nameplate, for `ms` at most. */
  private wait(client: Client, ms: number, resume: string | undefined): void {
    const nameplate = client.nameplate ?? '';
    this.waiting.add(client);
    this.arm(client, ms, 'NAMEPLATE_EXPIRED', 'no sender came in time');
    // A token to reclaim the nameplate is only worth having where it outlives this instance.
    this.send(client, {
      type: 'registered',
      nameplate,
      ...(this.state.shared && resume !== undefined ? { resume } : {}),
      ...(client.named !== undefined ? { name: client.named.name } : {}),
    });
  }

  /** An envelope for one of this instance's clients. */
  protected deliver(envelope: Envelope): void {
    const client = this.clients.get(envelope.to);
    switch (envelope.kind) {
      case 'paired': {
        const nameplate = client?.nameplate;
        if (client === undefined || nameplate === undefined || !this.waiting.delete(client)) {
          // Gone meanwhile: the joiner learns it as it would from a local receiver.
          this.route(envelope.from, { to: envelope.from.client, kind: 'left' });
          return;
        }
        client.partner = envelope.from;
        this.unname(client);
        this.arm(client, this.limits.idleTimeoutMs, 'BAD_MESSAGE', 'idle too long');
        this.send(client, {
          type: 'paired',
          role: 'answerer',
          sid: envelope.sid,
          ...(envelope.relay ? { relay: envelope.relay } : {}),
          ...this.turnGrant(client, 'paired'),
        });
        return;
      }
      case 'relay':
        if (client?.partner !== undefined) this.write(client, envelope.frame);
        return;
      case 'left':
        if (client?.partner === undefined) return;
        client.partner = undefined;
        this.send(client, { type: 'peer-left' });
        return;
      case 'swarm':
        this.tracker.deliver(client, envelope);
        return;
    }
  }

  /** TURN credentials for one peer of a new pairing or one swarm member, if there are any for it (turn-grants.ts). */
  private turnGrant(client: Client, what: 'paired' | 'announced'): { turn?: TurnGrant } {
    return this.turnGrants.grant(client.group, () =>
      this.options.log(
        `client ${client.id} (${client.address}) ${what} without TURN: its hourly budget is spent`,
      ),
    );
  }

  /**
   * Room for one more waiting receiver, by the fair-share policy (waiting.ts):
   * with places left, the register pays as part of its allocation (returned);
   * when full, it pays here first, and then takes the place of the oldest
   * waiter of the group holding the most. SERVER_BUSY if neither.
   */
  private async makeRoom(client: Client): Promise<Payer | undefined> {
    if (this.waiting.size < this.limits.maxNameplates) return this.payer(client);
    // Checked before paying: a receiver the server has no room for is not charged for it.
    if (this.waiting.displaceable(client.group) === undefined) throw busy();
    await this.pay(client);
    if (this.waiting.size < this.limits.maxNameplates) return undefined;
    const displaced = this.waiting.displaceable(client.group); // again: the state may have moved meanwhile
    if (displaced === undefined) throw busy();
    this.reject(
      displaced,
      new PeerlaneError(
        'SERVER_BUSY',
        'the server is full: this place went to an address with fewer receivers',
      ),
    );
    return undefined;
  }

  /** A register or join: once per client. */
  private introduce(client: Client): void {
    if (client.nameplate !== undefined) {
      throw new PeerlaneError('BAD_MESSAGE', 'already registered');
    }
    if (client.swarms !== undefined) throw new PeerlaneError('BAD_MESSAGE', 'a swarm member cannot pair');
  }

  /** Registers and joins are paid for from the bucket of the client's address group. */
  private payer(client: Client): Payer {
    return { address: client.group, bucket: this.bucket };
  }

  /** Introduce the client and pay, for what takes no shared step of its own to pay in. */
  private async spendToken(client: Client): Promise<void> {
    this.introduce(client);
    await this.pay(client);
  }

  private async pay(client: Client): Promise<void> {
    const { address, bucket } = this.payer(client);
    if (!(await this.state.take(address, bucket))) throw rateLimited();
  }
}

function busy(): PeerlaneError {
  return new PeerlaneError('SERVER_BUSY', 'too many receivers are waiting');
}
