/**
 * Either side first. Whoever starts without a code registers a nameplate,
 * draws the secret words and prints the code (`ready`); the other joins with
 * it. The PAKE is the same either way: roles (offerer/answerer) follow the
 * join order, intents (send/receive) follow the command.
 *
 * A receiver that waits may also take a name (`--name laptop`, optionally
 * `--listed` for `peer list`); its code is then `laptop-orbit-lemon`. A sender
 * given that joins by name, learns the nameplate from the server at pairing,
 * and runs the same PAKE over it with the same words. Such a receiver may be
 * run again and again (and a hostile server can end each run with one guess),
 * so its code has more words unless told otherwise.
 *
 * Whoever drew the code is the answerer, whoever typed it the offerer: the
 * order of key confirmation rests on it (secure/handshake.ts), so a server that
 * says otherwise is refused.
 */

import { PeerlaneError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { Code, NamedCode } from '../secure/code.js';
import {
  DEFAULT_CODE_WORDS,
  DEFAULT_NAMED_CODE_WORDS,
  formatCode,
  generateSecret,
  parseCode,
  parseSendCode,
} from '../secure/code.js';
import type { Intent } from '../secure/protocol.js';
import type { SignalClient } from '../signaling/client.js';
import type { PeerRole } from '../signaling/protocol.js';
import { isValidPeerName, MAX_PEER_NAME_LENGTH } from '../signaling/protocol.js';

/**
 * Two peers on one nameplate, before the PAKE: the signal connection, the
 * role the join order gave, and the code's parts.
 */
export interface Pairing {
  client: SignalClient;
  role: PeerRole;
  intent: Intent;
  nameplate: string;
  secret: string;
  /** CPace's session id, handed out by the server with `paired`. */
  sid: Uint8Array;
}

export interface PairOptions {
  onEvent?: EventSink | undefined;
  /** Aborting ends the wait with INTERRUPTED. */
  abortSignal?: AbortSignal | undefined;
  intent: Intent;
  /** The other side's code; absent: register and print one. */
  code?: string | undefined;
  /** Secret words in a code we draw (default: DEFAULT_CODE_WORDS, or DEFAULT_NAMED_CODE_WORDS with a name). */
  codeWords?: number | undefined;
  /** Waiting: also be reachable under this name (see checkPeerName). */
  name?: string | undefined;
  /** Waiting with a name: show it to `peer list`. */
  listed?: boolean | undefined;
}

/** Only a sender joins by name: a sender that went first has no name to join by. */
function parseGiven(code: string, intent: Intent): Code | NamedCode {
  return intent === 'send' ? parseSendCode(code) : parseCode(code);
}

/**
 * Check a code, and a name to wait under, before anything connects, so a typo
 * never spends the code's one try.
 */
export function checkCode(options: Pick<PairOptions, 'code' | 'name' | 'listed' | 'intent'>): void {
  if (options.code !== undefined) {
    if (options.name !== undefined) {
      throw new PeerlaneError('USAGE', '--name is for waiting; it cannot go with a code to join');
    }
    parseGiven(options.code, options.intent);
  }
  if (options.listed && options.name === undefined) throw new PeerlaneError('USAGE', '--listed needs --name');
  if (options.name !== undefined) checkPeerName(options.name);
}

/** A peer name to wait under (`--name`), as given on the command line: the form peer names take. Throws BAD_CONFIG. */
function checkPeerName(name: string): void {
  if (!isValidPeerName(name)) {
    throw new PeerlaneError(
      'BAD_CONFIG',
      `--name must be a lowercase letter, then up to ${MAX_PEER_NAME_LENGTH - 1} more of a-z, 0-9 and _, not ${JSON.stringify(name.slice(0, 40))}`,
    );
  }
}

/** The role the server gave us must be the one our part implies (see the top of this file). */
function expectRole(role: PeerRole, expected: PeerRole): PeerRole {
  if (role !== expected) {
    throw new PeerlaneError(
      'BAD_MESSAGE',
      `the signal server made this side the ${role}, not the ${expected}`,
    );
  }
  return role;
}

/**
 * Register or join, as the code says. `connect` opens the signal connection:
 * TCP in Node (signaling/socket.ts), a WebSocket in a browser.
 */
export async function pair(connect: () => Promise<SignalClient>, options: PairOptions): Promise<Pairing> {
  const emit = options.onEvent ?? (() => {});
  const given = options.code === undefined ? undefined : parseGiven(options.code, options.intent);
  throwIfAborted(options.abortSignal);
  const client = await connect();
  const base = { client, intent: options.intent };
  try {
    if (given !== undefined) {
      const joined =
        'name' in given
          ? await abortable(client.joinName(given.name), options.abortSignal)
          : { role: await abortable(client.join(given.nameplate), options.abortSignal), ...given };
      const role = expectRole(joined.role, 'offerer');
      return { ...base, role, nameplate: joined.nameplate, secret: given.secret, sid: client.sessionId };
    }
    const { name } = options;
    const words = options.codeWords ?? (name === undefined ? DEFAULT_CODE_WORDS : DEFAULT_NAMED_CODE_WORDS);
    const secret = generateSecret(words);
    const nameplate = await client.register({ name, listed: options.listed === true });
    const route = name ?? nameplate;
    emit({ event: 'ready', code: formatCode({ nameplate: route, secret }), ...(name ? { name } : {}) });
    const role = expectRole(await abortable(client.waitForPeer(), options.abortSignal), 'answerer');
    return { ...base, role, nameplate, secret, sid: client.sessionId };
  } catch (err) {
    client.close();
    throw err;
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PeerlaneError('INTERRUPTED', 'interrupted');
}

/** Race `step` against the abort signal. */
export function abortable<T>(step: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return step;
  throwIfAborted(signal);
  return Promise.race([
    step,
    new Promise<never>((_, reject) =>
      signal.addEventListener('abort', () => reject(new PeerlaneError('INTERRUPTED', 'interrupted')), {
        once: true,
      }),
    ),
  ]);
}
