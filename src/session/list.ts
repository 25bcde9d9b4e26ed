/**
 * `peer list`: the receivers that asked to be listed (`peer receive --name
 * laptop --listed`) on this signal server. A name only routes: sending to one
 * still takes the words it shows.
 */
import type { EventSink } from '../core/events.js';
import type { SignalAddress } from '../signaling/socket.js';
import { connectSignal } from '../signaling/socket.js';
import { abortable } from './common.js';

export interface ListOptions {
  signal: SignalAddress;
  onEvent?: EventSink;
  abortSignal?: AbortSignal;
}

export async function listPeers(options: ListOptions): Promise<{ name: string }[]> {
  const client = await connectSignal(options.signal);
  try {
    const peers = (await abortable(client.list(), options.abortSignal)).map((name) => ({ name }));
    options.onEvent?.({ event: 'peers', peers });
    return peers;
  } finally {
    client.close();
  }
}
