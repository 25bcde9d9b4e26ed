/**
 * A signaling client's bytes into messages for the handlers: NDJSON lines,
 * each parsed at the edge (parseClientMessage), within the server's limits on
 * unfinished lines.
 */
import { PeerlaneError } from '../core/errors.js';
import { LineDecoder } from '../core/signaling/framing.js';
import { MAX_SIGNAL_MESSAGE_BYTES, parseClientMessage } from '../core/signaling/protocol.js';
import type { Client } from './clients.js';
import type { SignalHandlers } from './handlers.js';
import type { SignalLimits } from './server-config.js';

export interface LineContext {
  handlers: SignalHandlers;
  limits: Readonly<SignalLimits>;
  /** Bytes of unfinished lines held for all clients, shared by every reader. */
  pending: { bytes: number };
}

/**
 * Hand the client's lines to the handlers. An unfinished line is held within
 * three limits: its size (MESSAGE_TOO_LARGE), the bytes all clients' unfinished
 * lines hold together (SERVER_BUSY), and its age, the handshake timeout
 * (BAD_MESSAGE): bytes that never finish a message buy no time, paired or not.
 */
export function readLines(client: Client, context: LineContext): void {
  const { handlers, limits, pending } = context;
  const { socket } = client;
  const decoder = new LineDecoder(MAX_SIGNAL_MESSAGE_BYTES);
  let partial: NodeJS.Timeout | undefined;
  const fail = (err: unknown): void =>
    handlers.enqueue(client, () => {
      throw err;
    });
  socket.on('data', (chunk: Buffer) => {
    const before = decoder.heldBytes;
    let lines: string[] = [];
    try {
      lines = decoder.push(chunk);
    } catch (err) {
      fail(err);
    }
    pending.bytes += decoder.heldBytes - before;
    for (const line of lines) handlers.enqueue(client, () => parseClientMessage(line));
    if (decoder.heldBytes > 0 && pending.bytes > limits.maxPendingBytes) {
      fail(new PeerlaneError('SERVER_BUSY', 'too many unfinished messages on this server'));
    }
    if (decoder.heldBytes === 0) {
      clearTimeout(partial);
      partial = undefined;
    } else if (partial === undefined) {
      partial = setTimeout(
        () => fail(new PeerlaneError('BAD_MESSAGE', 'a message took too long to arrive')),
        limits.handshakeTimeoutMs,
      );
      partial.unref();
    } else if (lines.length > 0) {
      partial.refresh(); // a new line began: its clock starts now
    }
  });
  socket.once('close', () => {
    clearTimeout(partial);
    pending.bytes -= decoder.heldBytes;
  });
}
