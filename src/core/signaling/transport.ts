/**
 * The connection a signal server client runs over, injected (a TCP socket in
 * Node, signaling/socket.ts; a WebSocket in a browser), and reading the
 * server's messages off it: what the pair's SignalClient (client.ts) and the
 * swarm's tracker client (swarm/tracker-client.ts) share.
 */
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import { LineDecoder } from './framing.js';
import type { ServerMessage } from './protocol.js';
import { MAX_SIGNAL_MESSAGE_BYTES, parseServerMessage } from './protocol.js';

/**
 * A connection to the signal server as the client uses it: bytes both ways,
 * newline-delimited messages (protocol.ts; the client splits them,
 * framing.ts), and one close.
 */
export interface SignalTransport {
  write(text: string): void;
  onData(handler: (chunk: Uint8Array) => void): void;
  /** Once, when the connection is gone; `cause` is the error that ended it, if one did. */
  onClose(handler: (cause: Error | undefined) => void): void;
  /** Close it and hear nothing more from it. */
  close(): void;
}

/**
 * Opens a new connection to the same server: the first one, and each one a
 * reclaim needs. Rejects with SIGNAL_UNREACHABLE, saying where it tried.
 */
export type SignalDialer = () => Promise<SignalTransport>;

/**
 * Hand each message the server sends over `transport` to `dispatch`, in
 * order. What does not parse (or what `dispatch` throws) goes to `fail`, and
 * the connection is closed: nothing after it can be trusted to line up.
 */
export function readServerMessages(
  transport: SignalTransport,
  dispatch: (msg: ServerMessage) => void,
  fail: (err: PeerlaneError) => void,
): void {
  const decoder = new LineDecoder(MAX_SIGNAL_MESSAGE_BYTES);
  transport.onData((chunk) => {
    try {
      for (const line of decoder.push(chunk)) dispatch(parseServerMessage(line));
    } catch (err) {
      fail(toPeerlaneError(err, 'BAD_MESSAGE'));
      transport.close();
    }
  });
}

/**
 * Dial again after each of `delaysMs` in turn (each ±25%, so that clients a
 * server dropped together do not all come back at once), until a dial works.
 * Resolves with the new connection, or undefined once `stopped()` (closing
 * what it dialed); rejects with the last dial's failure once the delays are spent.
 */
export async function redial(
  dial: SignalDialer,
  delaysMs: readonly number[],
  stopped: () => boolean,
): Promise<SignalTransport | undefined> {
  let last = new PeerlaneError('SIGNAL_UNREACHABLE', 'no dial was made');
  for (const delay of delaysMs) {
    await new Promise((resolve) => setTimeout(resolve, delay * (0.75 + Math.random() / 2)));
    if (stopped()) return undefined;
    let transport: SignalTransport;
    try {
      transport = await dial();
    } catch (err) {
      last = toPeerlaneError(err, 'SIGNAL_UNREACHABLE');
      continue;
    }
    if (stopped()) {
      transport.close();
      return undefined;
    }
    return transport;
  }
  throw last;
}
