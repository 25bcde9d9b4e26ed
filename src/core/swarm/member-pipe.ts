/**
 * What two swarm members say to each other through the tracker's relay
 * (tracker-client.ts): the payloads of one link attempt, each tagged with the
 * attempt's id and sealed under that attempt's keys (keys.ts pipeKeys), the
 * pair's sealed channel (secure/channel.ts) without a PAKE: the swarm secret
 * is the shared key.
 *
 *   dialer                    tracker (swarm-relay)                   answerer
 *     | -- {c, p: sealed{direct hints}} -------------------------------> |  a new c: a new attempt
 *     | <------------------------------------------ {c, p: refused} -- |  (if it did not open)
 *     | <------------------------------- {c, p: sealed{direct hints}} -- |
 *     | <== {c, p: sealed{offer / answer / candidate / choose}} =======> |  (race.ts, rtc-signal.ts)
 *
 * `c` is 128 random bits, fresh per attempt: a late payload of an abandoned
 * attempt reaches no other, and each attempt's keys are new, so the
 * channel's counter nonces never repeat under a key.
 */
import { toBase64 } from '../bytes.js';
import { PeerlaneError } from '../errors.js';
import { parseJsonObject } from '../json.js';
import type { Aead } from '../secure/channel.js';
import { nobleAesGcm, SecureChannel } from '../secure/channel.js';
import { encodeSecureMessage } from '../secure/protocol.js';
import { bad, str } from '../signaling/fields.js';
import { MAX_SIGNAL_MESSAGE_BYTES } from '../signaling/protocol.js';
import { pipeKeys } from './keys.js';
import type { SwarmClient } from './tracker-client.js';

/** An attempt id: 128 random bits, base64url. */
const ATTEMPT_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export interface MemberPayload {
  /** The link attempt it belongs to. */
  c: string;
  /** A secure-layer message (secure/protocol.ts): a sealed box. */
  p: string;
}

export function encodeMemberPayload(payload: MemberPayload): string {
  return JSON.stringify(payload);
}

/** Parse a payload another member relayed. Throws PeerlaneError (BAD_MESSAGE). */
export function parseMemberPayload(raw: unknown): MemberPayload {
  const obj = parseJsonObject(raw, 'BAD_MESSAGE', 'member payload');
  const c = str(obj, 'c', 22);
  if (!ATTEMPT_PATTERN.test(c)) throw bad('field "c" is not an attempt id');
  return { c, p: str(obj, 'p', MAX_SIGNAL_MESSAGE_BYTES) };
}

/**
 * What a member answers the first payload of an attempt with when it does not
 * open: `refused`, in the clear like the pair's (it says only what silence
 * would, sooner), so the dialer fails with SWARM_AUTH_FAILED at once, and no
 * listener or peer connection was set up for it.
 */
export function refusal(attempt: string): string {
  return encodeMemberPayload({ c: attempt, p: encodeSecureMessage({ kind: 'refused' }) });
}

/** A fresh attempt id (crypto.getRandomValues: Node and browsers alike). */
export function newAttemptId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export interface MemberChannelOptions {
  client: SwarmClient;
  swarm: string;
  /** Our member id, and theirs (the tracker's). */
  me: string;
  them: string;
  /** Which of the two dialed: the attempt's offerer. */
  dialer: string;
  attempt: string;
  /** keys.ts swarmSealKey. */
  sealKey: Uint8Array;
  aead?: Aead | undefined;
}

/**
 * The sealed pipe of one link attempt with one member: what it sends goes
 * out through the tracker; feed it what arrives for the attempt (`receive`).
 */
export class MemberChannel extends SecureChannel {
  /** A payload of theirs failed to open or parse: they hold another secret, or the relay tampers. */
  authFailed = false;

  constructor(options: MemberChannelOptions) {
    const { client, swarm, them, attempt } = options;
    const keys = pipeKeys(options.sealKey, attempt, { me: options.me, them, dialer: options.dialer });
    const pipe = {
      sendPayload: (p: string) => client.send(swarm, them, encodeMemberPayload({ c: attempt, p })),
      onPayload: () => {},
      onFailure: () => {},
    };
    // The short authentication string is the pair's (--verify); members have no use for one.
    super(pipe, keys.seal, keys.open, new Uint8Array(0), options.aead ?? nobleAesGcm);
  }

  override fail(err: PeerlaneError): void {
    if (err.code === 'BAD_MESSAGE') this.authFailed = true;
    super.fail(err);
  }

  /** What an attempt that failed on this channel should say. */
  explain(err: PeerlaneError): PeerlaneError {
    if (!this.authFailed) return err;
    return new PeerlaneError(
      'SWARM_AUTH_FAILED',
      'the other member’s signaling did not open under this swarm’s secret',
      { cause: err },
    );
  }
}
