/**
 * A tap on libdatachannel's own log. node-datachannel reports only states,
 * and a few facts exist nowhere else: whether the DTLS handshake finished or
 * failed (and with which alert), whether SCTP failed, and whether a TURN
 * server refused our credentials. Attempts listen while they run.
 *
 * The log is one per process, not per PeerConnection; a peer process runs one
 * attempt at a time, so the lines heard during an attempt are its own.
 * An attempt asked to debug (RtcOptions.debugIce, the CLI's --debug-ice) also
 * prints the whole log (debug level) on stderr, from then on.
 */
import nodeDataChannel from 'node-datachannel';

type Listener = (message: string) => void;
const listeners = new Set<Listener>();
/** The level the logger runs at; undefined until the first listener. */
let level: 'Info' | 'Debug' | undefined;

/** Hear every log line until the returned function is called; `debug` also echoes them on stderr. */
export function listenNativeLog(listener: Listener, debug = false): () => void {
  // Info, not Warning: "DTLS handshake finished" is an info line. A
  // connection logs a few dozen such lines; the data path logs none. Calling
  // initLogger again replaces the level and the callback.
  if (level === undefined || (debug && level !== 'Debug')) {
    const echo = debug;
    level = debug ? 'Debug' : 'Info';
    nodeDataChannel.initLogger(level, (lineLevel, message) => {
      if (echo) process.stderr.write(`[rtc ${lineLevel}] ${message}\n`);
      for (const l of listeners) l(message);
    });
  }
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}
