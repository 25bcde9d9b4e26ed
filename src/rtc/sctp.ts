/**
 * usrsctp settings for every data channel this process opens. libdatachannel's
 * defaults are tuned for a LAN and cap a long path far below what it carries:
 * measured on the WAN lab's 80 ms, 1 Gbit/s path (`npm run bench:wan`), the
 * defaults move 0.4 MB/s, these 32 MB/s (TCP: 39).
 *
 * usrsctp reads them when an association is created (usrsctp #214), so they
 * must be in place before the first PeerConnection; they are process-wide.
 * The MTU is per PeerConnection (mtuFor).
 */
import nodeDataChannel from 'node-datachannel';
import type { PeerAgent } from '../core/secure/protocol.js';

/**
 * libdatachannel delays SACKs by 20 ms. usrsctp's retransmission timer is not
 * restarted as acknowledgements advance, so on a long path data older than
 * SRTT + variance is outstanding whenever a SACK is late: the timer fires
 * about 4 times a second with nothing lost, and every expiry drops the
 * congestion window to one packet. Acknowledging within 1 ms keeps the timer
 * from firing spuriously (80 ms path: 0.4 → 5–6 MB/s with this alone).
 */
const DELAYED_SACK_MS = 1;

/**
 * Send and receive buffers bound the bytes in flight, so the rate to
 * buffer ÷ RTT: libdatachannel's 1 MiB gives 13 MB/s at 80 ms. 4 MiB covers
 * 50 MB/s at 80 ms. Larger is worse, not better: libjuice's UDP socket
 * buffer then overflows in bursts (8 MiB: 29 MB/s, 16 MiB: 20 MB/s on the
 * same path), and every drop costs a window reduction.
 */
const SCTP_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * usrsctp's congestion control modules: 0 RFC 2581 (Reno), 1 HighSpeed TCP,
 * 2 H-TCP, 3 RTCC. HighSpeed TCP grows the window faster once it is large,
 * which is where a long fat path lives (80 ms: 30 → 32 MB/s against Reno);
 * below 38 packets it is Reno. H-TCP and RTCC were slower on every lab path.
 */
const CONGESTION_CONTROL_HSTCP = 1;

/** The safe default, what libdatachannel uses: the IPv6 minimum link MTU. */
const SAFE_MTU = 1280;

/**
 * On loopback, where the path certainly carries it: per-packet cost dominates
 * there, and 1280 → 4096 took 256 MiB disk to disk from 112 to 175 MB/s.
 */
const LOOPBACK_MTU = 4096;

/**
 * On loopback with a browser, or a peer that did not say what it is: Chromium
 * drops any DTLS datagram over 2048 bytes (webrtc's kMaxDtlsPacketLen), so at
 * MTU 2200 its channel closes as soon as data flows, at 2048 it carries
 * everything (measured with src/testing/browser-blast.ts). The page says it is
 * one with its PAKE share (core/secure/protocol.ts PeerAgent), before any
 * attempt starts.
 */
const BROWSER_LOOPBACK_MTU = 2048;

/** The MTU for a bind address and a peer: more only where the path is certainly loopback. */
export function mtuFor(bindAddress: string | undefined, peer: PeerAgent | undefined): number {
  if (bindAddress === undefined || !/^127\.|^::1$/.test(bindAddress)) return SAFE_MTU;
  return peer === 'cli' ? LOOPBACK_MTU : BROWSER_LOOPBACK_MTU;
}

let applied = false;

/** Apply the settings once per process, before the first PeerConnection. */
export function applySctpSettings(): void {
  if (applied) return;
  applied = true;
  nodeDataChannel.setSctpSettings({
    delayedSackTime: DELAYED_SACK_MS,
    recvBufferSize: SCTP_BUFFER_BYTES,
    sendBufferSize: SCTP_BUFFER_BYTES,
    congestionControlModule: CONGESTION_CONTROL_HSTCP,
  });
}
