/**
 * peerlane as a library: what `import … from 'peerlane'` gives. These exports
 * are the public surface; every other module is internal and may change
 * between versions. The test harness is a separate entry, 'peerlane/testing'.
 *
 *   const server = new SignalServer({ host: '127.0.0.1', port: 0 });
 *   const signal = await server.listen();
 *   receive({ signal, rtc, outDir: 'dl', onEvent }) … send({ signal, rtc, paths, code })
 *
 * The README's "From a program" has the whole example, run by test/api/.
 */
import nodeDataChannel from 'node-datachannel';

export type { Transport } from './config.js';
export type { ErrorCode } from './core/errors.js';
export { ERROR_CODES, isErrorCode, PeerlaneError } from './core/errors.js';
export type { EventSink, PeerEvent } from './core/events.js';
export { EVENT_NAMES } from './core/events.js';
export type { Code, NamedCode } from './core/secure/code.js';
export {
  DEFAULT_CODE_WORDS,
  formatCode,
  generateSecret,
  MAX_CODE_WORDS,
  MIN_CODE_WORDS,
  parseCode,
  parseSendCode,
} from './core/secure/code.js';
export type { ManifestEntry } from './core/transfer/protocol.js';
export type { FileResult, TransferResult } from './core/transfer/types.js';
export type { RtcOptions } from './rtc/connect.js';
export type { IceServer, StunServer, TurnServer } from './rtc/ice-servers.js';
export type { SignalServerOptions } from './server/options.js';
export { SignalServer } from './server/server.js';
export type { SessionOptions } from './session/common.js';
export type { ListOptions } from './session/list.js';
export { listPeers } from './session/list.js';
export type { ReceiveSessionOptions } from './session/receive.js';
export { receive } from './session/receive.js';
export type { SendSessionOptions } from './session/send.js';
export { send } from './session/send.js';
export type { SignalAddress } from './signaling/socket.js';

/**
 * Stop node-datachannel's native threads. They outlive the last connection
 * and keep Node from exiting once a program's work is done (the CLI exits
 * explicitly instead). Call it when no send() or receive() is running: it
 * would cut their data channels. A later send() or receive() starts them again.
 */
export function stopNativeThreads(): void {
  nodeDataChannel.cleanup();
}
