/**
 * A tap on libdatachannel's own log. node-datachannel reports only states,
 * and a few facts exist nowhere else: whether the DTLS handshake finished or
 * failed (and with which alert), whether SCTP failed, and whether a TURN
 * server refused our credentials. Attempts listen while they run.
 *
 * The log is one per process, not per PeerConnection; a peer process runs one
 * attempt at a time, so the lines heard during an attempt are its own.
 * PEERLANE_DEBUG_ICE=1 also prints the whole log (debug level) on stderr.
 */
import nodeDataChannel from 'node-datachannel';

type Listener = (message: string) => void;
const listeners = new Set<Listener>();
let installed = false;

/** Hear every log line until the returned function is called. */
export function listenNativeLog(listener: Listener): () => void {
  if (!installed) {
    installed = true;
    const debug = Boolean(process.env.PEERLANE_DEBUG_ICE);
    // Info, not Warning: "DTLS handshake finished" is an info line. A
    // connection logs a few dozen such lines; the data path logs none.
    nodeDataChannel.initLogger(debug ? 'Debug' : 'Info', (level, message) => {
      if (debug) process.stderr.write(`[rtc ${level}] ${message}\n`);
      for (const l of listeners) l(message);
    });
  }
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}
