/**
 * Pairing in Node: the core's register/join and PAKE roles
 * (core/session/pair.ts) over a TCP connection to the signal server.
 */
import type { PairOptions as CorePairOptions, Pairing } from '../core/session/pair.js';
import { pair as pairOver } from '../core/session/pair.js';
import { connectSignal } from '../signaling/socket.js';
import type { SessionOptions } from './common.js';

export { checkCode } from '../core/session/pair.js';

export interface PairOptions extends SessionOptions, CorePairOptions {}

export function pair(options: PairOptions): Promise<Pairing> {
  return pairOver(() => connectSignal(options.signal), options);
}
