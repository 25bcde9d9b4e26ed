/** In-process peers for integration tests: the library's receive() and send(), with their code and events at hand. */
import type { PeerEvent } from '../core/events.js';
import type { TransferResult } from '../core/transfer/types.js';
import type { ReceiveSessionOptions } from '../session/receive.js';
import { receive } from '../session/receive.js';
import type { SendSessionOptions } from '../session/send.js';
import { send } from '../session/send.js';

export interface StartedReceiver {
  /** Resolves with the code once the receiver waits; never if it fails first. */
  code: Promise<string>;
  result: Promise<TransferResult>;
  events: PeerEvent[];
}

/** A sender that went first, without a code; the same shape as a receiver that waits. */
export type StartedSender = StartedReceiver;

type Session<O> = (options: O) => Promise<TransferResult>;

function start<O extends { onEvent?: ((e: PeerEvent) => void) | undefined }>(
  session: Session<O>,
  options: O,
): StartedReceiver {
  const events: PeerEvent[] = [];
  let ready!: (code: string) => void;
  const code = new Promise<string>((resolve) => {
    ready = resolve;
  });
  const result = session({
    ...options,
    onEvent: (e: PeerEvent) => {
      events.push(e);
      if (e.event === 'ready') ready(e.code);
      options.onEvent?.(e);
    },
  });
  // Tests await it when they care; an unobserved failure must not crash the run.
  result.catch(() => {});
  return { code, result, events };
}

export function startReceiver(options: ReceiveSessionOptions): StartedReceiver {
  return start(receive, options);
}

/** `send()` without a code: it prints one (the `ready` event) and waits for `peer receive <code>`. */
export function startSender(options: Omit<SendSessionOptions, 'code'>): StartedSender {
  return start(send, options);
}
