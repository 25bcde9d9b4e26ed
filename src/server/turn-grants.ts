/**
 * TURN credentials for the peers of new pairings and for swarm members (at
 * each announce), within a budget per address
 * group and hour (SIGNAL_TURN_GRANTS_PER_HOUR): relaying costs the operator
 * bandwidth, so one address cannot mint credentials without end.
 *
 * Kept by each instance, like the connection cap: the server decides while it
 * writes `paired` or `announced`, before any relay can follow, so it cannot wait on a shared store.
 */
import type { TurnGrant } from '../core/signaling/protocol.js';
import { AddressLimiter } from './rate-limit.js';
import type { TurnConfig } from './turn.js';
import { issueTurnCredentials } from './turn.js';

export class TurnGrants {
  /** Credentials left to each address group this hour. */
  private readonly budget: AddressLimiter;

  /** `now`: milliseconds, what the budgets refill by. */
  constructor(
    private readonly turn: TurnConfig | undefined,
    grantsPerHour: number,
    now: () => number,
  ) {
    this.budget = new AddressLimiter({
      maxConnections: Number.POSITIVE_INFINITY,
      ratePerMinute: grantsPerHour / 60,
      burst: grantsPerHour,
      now,
    });
  }

  /**
   * Fresh credentials for one peer from `group`, if TURN is configured; with
   * `over` told, and none given, if the group's budget is spent this hour.
   * The username's id is random: a client number would tell anyone how busy the server is.
   */
  grant(group: string, over: () => void): { turn?: TurnGrant } {
    const turn = this.turn;
    if (turn === undefined) return {};
    if (!this.budget.take(group)) {
      over();
      return {};
    }
    const creds = issueTurnCredentials(turn.secret, turn.ttlSeconds);
    return { turn: { urls: [...turn.urls], ...creds } };
  }

  /** Forget budgets that have refilled. */
  sweep(): void {
    this.budget.sweep();
  }
}
