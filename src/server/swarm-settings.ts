/**
 * The tracker's limits (swarm.ts): their part of SignalLimits, and their
 * entries in the signal server's limit table (server-config.ts spreads them
 * in, and checks them as it checks its own).
 */
import { MAX_SWARM_MEMBERS } from '../core/signaling/swarm.js';

export interface SwarmLimits {
  /** Members one swarm may hold; one more announce gets SERVER_BUSY. */
  swarmMembers: number;
  /** Swarms one connection may announce; one more gets RATE_LIMITED. */
  swarmsPerConnection: number;
  /** Swarm relays per minute each connection may send, once its burst is spent. */
  swarmRelayRatePerMinute: number;
  /** Swarm relays each connection may send in a row. */
  swarmRelayBurst: number;
}

/**
 * A connection's swarms are held by the server for as long as it stays, each
 * with a member's worth of notices: a few per member are what any use needs
 * (the CLI and the daemon announce one per connection).
 */
const MAX_SWARMS_PER_CONNECTION = 64;

/**
 * A link between two members takes 10 to 15 relays (hints, offer, answer,
 * candidates, the choice): the burst covers links to a few dozen members at
 * once, the rate a steady churn of them.
 */
export const SWARM_LIMIT_SETTINGS = [
  {
    env: 'SIGNAL_SWARM_MEMBERS',
    flag: 'swarm-members',
    key: 'swarmMembers',
    kind: 'count',
    default: 64,
    max: MAX_SWARM_MEMBERS,
    describe: `Members one swarm may hold (at most ${MAX_SWARM_MEMBERS})`,
  },
  {
    env: 'SIGNAL_SWARMS_PER_CONNECTION',
    flag: 'swarms-per-connection',
    key: 'swarmsPerConnection',
    kind: 'count',
    default: 4,
    max: MAX_SWARMS_PER_CONNECTION,
    describe: `Swarms one connection may announce (at most ${MAX_SWARMS_PER_CONNECTION})`,
  },
  {
    env: 'SIGNAL_SWARM_RELAY_RATE',
    flag: 'swarm-relay-rate',
    key: 'swarmRelayRatePerMinute',
    kind: 'rate',
    default: 600,
    describe: 'Swarm relays per minute per connection, after the burst',
  },
  {
    env: 'SIGNAL_SWARM_RELAY_BURST',
    flag: 'swarm-relay-burst',
    key: 'swarmRelayBurst',
    kind: 'count',
    default: 400,
    describe: 'Swarm relays per connection in a row',
  },
] as const;
