/**
 * Short-lived TURN credentials for coturn's REST API mode
 * (`use-auth-secret` + `static-auth-secret`; draft-uberti-behave-turn-rest):
 *
 *   username = "<expiry, Unix seconds>:<id>"
 *   password = base64(HMAC-SHA1(secret, username))
 *
 * coturn recomputes the password from the username and the shared secret and
 * refuses the username once its expiry has passed, so the signal server can
 * hand out credentials without telling coturn anything, and a leaked pair
 * stops working after the TTL.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { PeerlaneError } from '../core/errors.js';
import { turnServersFor } from '../rtc/ice-servers.js';

export interface TurnCredentials {
  username: string;
  password: string;
  /** Unix seconds after which coturn refuses them. */
  expiresAt: number;
}

/** What the signal server needs to issue credentials; see resolveTurnConfig(). */
export interface TurnConfig {
  /** `turn:` URLs without credentials, as peers should use them. */
  urls: string[];
  secret: string;
  ttlSeconds: number;
}

/**
 * Ten minutes: credentials are needed only until a relay is allocated (a running
 * allocation outlives them), and a shorter life makes any that leak, or that
 * someone pairing with themselves collects, worth less.
 */
export const DEFAULT_TURN_TTL_SECONDS = 600;
/** A day: longer makes a leaked credential useful for longer than any transfer needs to start. */
const MAX_TURN_TTL_SECONDS = 86_400;

export function turnPassword(secret: string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

/**
 * Credentials valid for `ttlSeconds` from `nowMs`. `id` names the holder in
 * coturn's log; by default it is random, so usernames tell nothing of how many
 * were issued before.
 */
export function issueTurnCredentials(
  secret: string,
  ttlSeconds: number,
  options: { id?: string; nowMs?: number } = {},
): TurnCredentials {
  const expiresAt = Math.floor((options.nowMs ?? Date.now()) / 1000) + Math.floor(ttlSeconds);
  const id = options.id ?? `peerlane-${randomBytes(6).toString('hex')}`;
  const username = `${expiresAt}:${id}`;
  return { username, password: turnPassword(secret, username), expiresAt };
}

/**
 * TURN_URLS / TURN_SECRET / TURN_TTL into a TurnConfig, or undefined when
 * TURN is not configured (both unset). Throws BAD_CONFIG naming the variable.
 */
export function resolveTurnConfig(values: {
  urls?: string | undefined;
  secret?: string | undefined;
  ttl?: string | number | undefined;
}): TurnConfig | undefined {
  const urls = (values.urls ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const secret = values.secret ?? '';
  if (urls.length === 0 && secret === '') return undefined;
  if (urls.length === 0) throw new PeerlaneError('BAD_CONFIG', 'TURN_SECRET is set but TURN_URLS is empty');
  if (secret === '') throw new PeerlaneError('BAD_CONFIG', 'TURN_URLS is set but TURN_SECRET is empty');
  // Validate now, so a typo fails at startup rather than at the first pairing.
  turnServersFor(urls, { username: 'x', password: 'x' });
  const rawTtl = values.ttl === undefined || values.ttl === '' ? DEFAULT_TURN_TTL_SECONDS : values.ttl;
  const text = String(rawTtl).trim();
  const ttlSeconds = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(ttlSeconds >= 1 && ttlSeconds <= MAX_TURN_TTL_SECONDS)) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `--turn-ttl (TURN_TTL) must be whole seconds from 1 to ${MAX_TURN_TTL_SECONDS}, not ${JSON.stringify(rawTtl)}`,
    );
  }
  return { urls, secret, ttlSeconds };
}
