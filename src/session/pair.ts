/**
 * Either side first. Whoever starts without a code registers a nameplate,
 * draws the secret words and prints the code (`ready`); the other joins with
 * it. The PAKE is the same either way: roles (offerer/answerer) follow the
 * join order, intents (send/receive) follow the command.
 */

import { formatCode, generateSecret, parseCode } from '../secure/code.js';
import type { Intent } from '../secure/protocol.js';
import { SignalClient } from '../signaling/client.js';
import type { Pairing, SessionOptions } from './common.js';
import { abortable, throwIfAborted } from './common.js';

export interface PairOptions extends SessionOptions {
  intent: Intent;
  /** The other side's code; absent: register and print one. */
  code?: string | undefined;
  /** Secret words in a code we draw. */
  codeWords?: number | undefined;
}

/** Parse a code before anything connects, so a typo never spends the code's one try. */
export function checkCode(code: string | undefined): void {
  if (code !== undefined) parseCode(code);
}

export async function pair(options: PairOptions): Promise<Pairing> {
  const emit = options.onEvent ?? (() => {});
  const given = options.code === undefined ? undefined : parseCode(options.code);
  throwIfAborted(options.abortSignal);
  const client = await SignalClient.connect(options.signal);
  try {
    if (given !== undefined) {
      const role = await abortable(client.join(given.nameplate), options.abortSignal);
      return { client, role, intent: options.intent, nameplate: given.nameplate, secret: given.secret };
    }
    const secret = generateSecret(options.codeWords);
    const nameplate = await client.register();
    emit({ event: 'ready', code: formatCode({ nameplate, secret }) });
    const role = await abortable(client.waitForPeer(), options.abortSignal);
    return { client, role, intent: options.intent, nameplate, secret };
  } catch (err) {
    client.close();
    throw err;
  }
}
