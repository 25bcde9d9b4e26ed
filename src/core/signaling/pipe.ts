/**
 * The bottom layer every session is built on: a way to send a string payload
 * to the paired peer and hear the peer's. The signal client's relay is one
 * (client.ts); the PAKE-sealed SecureChannel wraps one; tests join two in
 * memory. Everything above it (the RTC offer and answer, the direct TCP
 * hints, the race) talks to a SignalPipe and never to a socket.
 */
import type { PeerlaneError } from '../errors.js';

export interface SignalPipe {
  sendPayload(payload: string): void;
  onPayload(handler: (payload: string) => void): void;
  onFailure(handler: (err: PeerlaneError) => void): void;
}
