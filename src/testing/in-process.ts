/** In-process peers for integration tests: the library's receive(), with its code and events at hand. */
import type { PeerEvent } from '../events.js';
import type { ReceiveSessionOptions } from '../session/receive.js';
import { receive } from '../session/receive.js';
import type { TransferResult } from '../transfer/types.js';

export interface StartedReceiver {
  /** Resolves with the code once the receiver waits; never if it fails first. */
  code: Promise<string>;
  result: Promise<TransferResult>;
  events: PeerEvent[];
}

export function startReceiver(options: ReceiveSessionOptions): StartedReceiver {
  const events: PeerEvent[] = [];
  let ready!: (code: string) => void;
  const code = new Promise<string>((resolve) => {
    ready = resolve;
  });
  const result = receive({
    ...options,
    onEvent: (e) => {
      events.push(e);
      if (e.event === 'ready') ready(e.code);
      options.onEvent?.(e);
    },
  });
  // Tests await it when they care; an unobserved failure must not crash the run.
  result.catch(() => {});
  return { code, result, events };
}
