/**
 * Which chunk to ask a member for next: rarest first among the chunks it has
 * and we lack that nobody is fetching (ties broken from a random start, so
 * getters that join together fetch different chunks and can trade them), else
 * — the endgame — a chunk in flight elsewhere for SLOW_REQUEST_MS or more,
 * the oldest first, so one slow member cannot hold the download back.
 */
import type { Bitfield } from './bitfield.js';

/** A request unanswered this long may be asked of another member as well. */
export const SLOW_REQUEST_MS = 2_000;

export interface PickInput {
  count: number;
  /** Held, or being written: never asked for. */
  taken: (index: number) => boolean;
  /** What the member we ask has. */
  theirs: Bitfield;
  /** How many members have each chunk. */
  availability: (index: number) => number;
  /** When the chunk was first asked of anyone now fetching it, if anyone is. */
  inFlightSince: (index: number) => number | undefined;
  /** Already asked of this member. */
  askedHere: (index: number) => boolean;
  now: number;
  /** 0 ≤ random < 1: where the scan starts. */
  random: number;
}

export function pickChunk(p: PickInput): number | undefined {
  let best: number | undefined;
  let bestRarity = Number.POSITIVE_INFINITY;
  let slowest: number | undefined;
  let slowestSince = p.now - SLOW_REQUEST_MS;
  const start = Math.floor(p.random * p.count);
  for (let k = 0; k < p.count; k++) {
    const i = (start + k) % p.count;
    if (p.taken(i) || !p.theirs.has(i) || p.askedHere(i)) continue;
    const since = p.inFlightSince(i);
    if (since === undefined) {
      const rarity = p.availability(i);
      if (rarity < bestRarity) {
        best = i;
        bestRarity = rarity;
      }
    } else if (since <= slowestSince) {
      slowest = i;
      slowestSince = since;
    }
  }
  return best ?? slowest;
}
