/**
 * Short-lived TURN credentials as the signal server hands them out (see
 * server/turn.ts): to each peer of a pairing in `paired`, and to each swarm
 * member in `announced` (protocol.ts and swarm.ts carry them as `turn`).
 */
import { utf8Length } from '../bytes.js';
import { bad, str } from './fields.js';

export interface TurnGrant {
  /** `turn:` URLs without credentials. */
  urls: string[];
  username: string;
  password: string;
  /** Unix seconds after which the TURN server refuses them. */
  expiresAt: number;
}

/** URLs one grant may list: a server has a few (UDP, TCP, TLS), never dozens. */
const MAX_TURN_URLS = 8;
/** A URL, username or password: REST usernames and base64 HMACs are far shorter. */
const MAX_TURN_FIELD_BYTES = 512;

/** The `turn` field of a server message; BAD_MESSAGE if it is not a grant. */
export function parseTurnGrant(raw: unknown): TurnGrant {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw bad('field "turn" must be an object');
  const obj = raw as Record<string, unknown>;
  const urls = obj.urls;
  if (!Array.isArray(urls) || urls.length === 0 || urls.length > MAX_TURN_URLS) {
    throw bad(`field "turn.urls" must list 1 to ${MAX_TURN_URLS} URLs`);
  }
  const expiresAt = obj.expiresAt;
  if (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0) {
    throw bad('field "turn.expiresAt" must be Unix seconds');
  }
  return {
    urls: urls.map((url: unknown) => {
      if (typeof url !== 'string' || utf8Length(url) > MAX_TURN_FIELD_BYTES) {
        throw bad('field "turn.urls" must hold short strings');
      }
      return url;
    }),
    username: str(obj, 'username', MAX_TURN_FIELD_BYTES),
    password: str(obj, 'password', MAX_TURN_FIELD_BYTES),
    expiresAt,
  };
}

/**
 * Time a grant must have left for a new link to start on it: ICE allocates
 * its relay within its first seconds, and an allocation outlives the
 * credentials, so only a start this close to the expiry would be refused.
 */
export const TURN_GRANT_MARGIN_MS = 15_000;

/** `grant`, if a link starting at `nowMs` can still allocate a relay with it; else undefined. */
export function liveGrant(grant: TurnGrant | undefined, nowMs: number): TurnGrant | undefined {
  return grant !== undefined && grant.expiresAt * 1000 - nowMs > TURN_GRANT_MARGIN_MS ? grant : undefined;
}
