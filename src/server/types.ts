/**
 * The shapes the signal server's shared state is made of, in one module that
 * imports nothing of the server: the state (state.ts), the directory
 * (directory.ts) and the envelopes (envelope.ts) each need the others' types,
 * and importing them from each other made a cycle. Behaviour, and the parsers
 * of what comes back from a shared store, stay beside what they describe.
 *
 * A client anywhere is named by its instance's id and its number there.
 */

export interface ClientRef {
  instance: string;
  client: number;
}

/**
 * Who waits under a nameplate, and the token that lets it claim the nameplate
 * back after a reconnect. Without shared state no token is ever sent, so a
 * waiter has one only if a name (directory.ts) needs it to tell waiters apart.
 */
export interface Waiter extends ClientRef {
  resume?: string | undefined;
}

/** What a name stands for in the directory (directory.ts). */
export interface NameEntry {
  nameplate: string;
  /** The reclaim token of the waiter the name was reserved for: identifies it across reclaims. */
  resume: string;
  listed: boolean;
}

/** What one instance tells another about one of its clients (the wire form is in envelope.ts). */
export type Envelope =
  | { to: number; kind: 'paired'; from: ClientRef; sid: string; relay?: string }
  /** `frame`: an encoded server message, newline included (encodeMessage). */
  | { to: number; kind: 'relay'; frame: string }
  | { to: number; kind: 'left' }
  /** For a swarm member (server/swarm.ts): `frame`, an encoded server message, if `to` is still in `swarm`. */
  | { to: number; kind: 'swarm'; swarm: string; frame: string };

export interface BucketSpec {
  ratePerMinute: number;
  burst: number;
}

/** Who pays for a register or join: one token of its address's bucket. */
export interface Payer {
  address: string;
  bucket: BucketSpec;
}

export interface Directory {
  /** Reserve `name` until `ttlMs` passes; false if a waiter still holds it. */
  reserve(name: string, entry: NameEntry, ttlMs: number): Promise<boolean>;
  /** The entry of `name`, alive or not; joining checks it against the nameplate's waiter. */
  lookup(name: string): Promise<NameEntry | undefined>;
  /** Forget `name` if it is still the one reserved with `resume`. */
  remove(name: string, resume: string): Promise<void>;
  /** Listed names whose waiter still waits, alphabetical, at most `max`. */
  list(max: number): Promise<string[]>;
}

/** A member of a swarm and the client that announced it. */
export interface SwarmMember {
  member: string;
  ref: ClientRef;
}

/** The client that holds a member, and the token that lets a new connection hold it instead. */
export interface MemberHolder extends ClientRef {
  token: string;
}

/** How a join went: the other members, or why not. */
export type SwarmJoin = { others: SwarmMember[] } | 'full' | 'taken';

/** Who is in which swarm (swarm-book.ts), in the same store as the rest of the state. */
export interface SwarmBook {
  /**
   * Make `holder` the holder of `member`: a member already there with the
   * same token moves to it ('taken' if with another token); a new one is added
   * unless the swarm holds `max` members already ('full').
   */
  join(swarm: string, member: string, holder: MemberHolder, max: number): Promise<SwarmJoin>;
  /**
   * Remove `member` if `ref` still holds it; resolves with the members left,
   * or undefined if another connection holds it now (nothing changed).
   */
  leave(swarm: string, member: string, ref: ClientRef): Promise<SwarmMember[] | undefined>;
  /** The client holding `member`, if it is one of the swarm's. */
  find(swarm: string, member: string): Promise<ClientRef | undefined>;
}

export interface SignalState {
  /** This instance's id, unique among the instances sharing the state. */
  readonly instance: string;
  /** Whether a waiter can outlive its connection (and so whether to hand out reclaim tokens). */
  readonly shared: boolean;
  /** Receivers reachable by name, in the same store (directory.ts). */
  readonly directory: Directory;
  /** Swarm members (the tracker, server/swarm.ts), in the same store. */
  readonly swarms: SwarmBook;
  /**
   * Reserve a fresh nameplate for `waiter` until `ttlMs` passes. With `payer`,
   * spend one of its tokens first, in the same step (one round trip to
   * Redis); throws RATE_LIMITED, and reserves nothing, if none is left.
   */
  allocate(waiter: Waiter, ttlMs: number, payer?: Payer): Promise<string>;
  /**
   * Take the waiter of `nameplate` and forget the nameplate, atomically: one
   * pairing per nameplate, whichever instance the joiner reached. With
   * `resume`, only if the waiter is the one with that token (a join by name).
   * With `payer`, as allocate: paid for first, and nothing taken if it cannot pay.
   */
  claim(nameplate: string, resume?: string, payer?: Payer): Promise<Waiter | undefined>;
  /** Forget `nameplate` if `waiter` still holds it. */
  release(nameplate: string, waiter: ClientRef): Promise<void>;
  /**
   * Move `nameplate` to `to` if `resume` is its token; resolves with the
   * milliseconds its TTL has left, or undefined if it is gone or the token is wrong.
   */
  reclaim(nameplate: string, resume: string, to: ClientRef): Promise<number | undefined>;
  /** Spend one register/join token of `address`; false if none is left. */
  take(address: string, bucket: BucketSpec): Promise<boolean>;
  /** Deliver to a client of another instance, in order per sender; resolves once sent on. */
  publish(instance: string, envelope: Envelope): Promise<void>;
  /** Where envelopes for this instance arrive. */
  onEnvelope(handler: (envelope: Envelope) => void): void;
  /** Throws if the shared store cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
