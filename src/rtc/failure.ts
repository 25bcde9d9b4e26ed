/**
 * Why a connection attempt failed, told from what the attempt saw at each
 * layer, and worded so that a message states only what was observed and
 * concludes only where the evidence supports it.
 *
 *   ICE    candidates gathered and received, whether a pair ever connected
 *   DTLS   whether the handshake finished or failed (and the alert)
 *   SCTP   whether the association for the data channel failed
 *
 * node-datachannel reports a PeerConnection as `failed` alike whichever layer
 * failed, and ends candidate gathering alike whether TURN answered 401 or not
 * at all. libdatachannel's own log says which (native-log.ts), so an attempt
 * notes those lines too.
 */
import { PeerlaneError } from '../core/errors.js';
import type { IceServer } from './ice-servers.js';
import { isTurnServer, restUsernameExpiry } from './ice-servers.js';
import type { PathInfo } from './link.js';

/** What one connection attempt saw, layer by layer. */
export class Observed {
  /** Candidate types gathered here, and received from the peer. */
  readonly local = new Set<string>();
  readonly remote = new Set<string>();
  iceConnected = false;
  /** The pair ICE selected, e.g. `host ↔ srflx`, once it connected. */
  pair: string | undefined;
  dtls: 'finished' | 'failed' | undefined;
  /** What libdatachannel gave as the DTLS failure, e.g. `DTLS alert: unknown CA`. */
  dtlsDetail: string | undefined;
  sctpFailed = false;
  /** What the TURN client logged as going wrong, e.g. `TURN authentication failed`. */
  readonly turnProblems = new Set<string>();

  /** Note the type of a candidate gathered here (`local`) or received from the peer. */
  noteCandidate(side: 'local' | 'remote', candidate: string): void {
    const type = candidateType(candidate);
    if (type !== undefined) this[side].add(type);
  }

  /** Note the candidates the peer put in its description (none, when it trickles them all). */
  noteRemoteDescription(sdp: string): void {
    for (const line of sdp.split(/\r?\n/)) {
      if (line.startsWith('a=candidate:')) this.noteCandidate('remote', line);
    }
  }

  /** Note one line of libdatachannel's (or libjuice's) log. */
  noteLog(message: string): void {
    if (/DTLS handshake finished/.test(message)) this.dtls = 'finished';
    else if (/DTLS handshake failed/.test(message)) this.dtls = 'failed';
    else if (/Invalid fingerprint/.test(message))
      this.dtlsDetail = "the peer's certificate did not match the fingerprint in its description";
    else if (/SCTP connection failed/.test(message)) this.sctpFailed = true;
    const alert = /DTLS alert: (.+)$/.exec(message)?.[1];
    if (alert !== undefined) this.dtlsDetail ??= `DTLS alert: ${alert}`;
    const turn = /juice: (TURN [^,]*(?:fail|error|timeout|timed out)[^,]*)/i.exec(message)?.[1];
    if (turn !== undefined) this.turnProblems.add(turn.trim());
  }
}

/** `host`, `srflx`, `prflx` or `relay`, from an `a=candidate` line. */
function candidateType(candidate: string): string | undefined {
  return /\btyp (\w+)/.exec(candidate)?.[1];
}

/** The options an explanation depends on. */
export interface FailureContext {
  iceServers: IceServer[];
  iceTransportPolicy?: 'all' | 'relay' | undefined;
  directOnly?: boolean | undefined;
  timeoutMs: number;
  /** The path an earlier attempt of this session connected over, if any. */
  previousPath?: PathInfo | undefined;
}

/** ICE connected but the PeerConnection failed: DTLS or SCTP, as the log showed. */
export function handshakeFailure(seen: Observed): PeerlaneError {
  const over = `ICE connected${seen.pair ? ` (${seen.pair})` : ''}`;
  if (seen.sctpFailed || seen.dtls === 'finished')
    return new PeerlaneError(
      'HANDSHAKE_FAILED',
      `${over} and the DTLS handshake finished, but the SCTP association for the data channel failed`,
    );
  return new PeerlaneError(
    'HANDSHAKE_FAILED',
    `${over}, but the DTLS handshake failed${seen.dtlsDetail ? ` (${seen.dtlsDetail})` : ''}`,
  );
}

/** ICE connected but the channel did not open in `ms`: which handshake it is stuck in. */
export function handshakeStall(seen: Observed, ms: number): PeerlaneError {
  const over = `ICE connected${seen.pair ? ` (${seen.pair})` : ''}`;
  const stuck =
    seen.dtls === 'finished'
      ? 'and the DTLS handshake finished, but the data channel (SCTP) did not open'
      : 'but the DTLS handshake did not finish';
  return new PeerlaneError('HANDSHAKE_STALLED', `${over} ${stuck} within ${ms / 1000} s`);
}

const list = (set: ReadonlySet<string>): string => (set.size === 0 ? 'none' : [...set].sort().join(', '));

function serverName(server: IceServer): string {
  return typeof server === 'string' ? server : `${server.hostname}:${server.port}`;
}

/**
 * Why this side has no relay address although TURN is configured: what the
 * TURN client logged, and credentials known to have expired.
 */
function turnTrouble(turn: IceServer[], seen: Observed, nowMs: number): string {
  const causes = [...seen.turnProblems].map((p) =>
    /auth/i.test(p) ? `the TURN server refused the credentials (${p})` : `the TURN client reported: ${p}`,
  );
  for (const t of turn) {
    const expiry = isTurnServer(t) ? restUsernameExpiry(t.username) : undefined;
    if (expiry !== undefined && expiry * 1000 <= nowMs)
      causes.push(
        `the credentials for ${serverName(t)} expired ${Math.round(nowMs / 1000 - expiry)} s ago, ask for new ones`,
      );
  }
  if (causes.length === 0) causes.push('check that its UDP port is reachable and the credentials are valid');
  return `the TURN server gave no relay address: ${causes.join('; ')}`;
}

/**
 * ICE found no path, or (under --relay) had nothing to try: what was tried,
 * what each side gathered, and a conclusion only where the candidates support
 * one.
 */
export function describeIceFailure(context: FailureContext, seen: Observed, nowMs = Date.now()): string {
  const turn = context.iceServers.filter(isTurnServer);
  const stun = context.iceServers.filter((s) => !isTurnServer(s));
  const parts = [
    `no network path to the peer within ${Math.round(context.timeoutMs / 1000)} s`,
    `tried ${context.iceTransportPolicy === 'relay' ? 'relay candidates only (--relay)' : 'every candidate type'}` +
      ` with STUN ${stun.length === 0 ? 'none' : stun.map(serverName).join(', ')}` +
      ` and TURN ${turn.length === 0 ? (context.directOnly ? 'off (--direct-only)' : 'none') : turn.map(serverName).join(', ')}`,
    `candidates gathered here: ${list(seen.local)}; received from the peer: ${list(seen.remote)}`,
  ];
  const previous = context.previousPath;
  if (previous !== undefined) {
    parts.push(
      `a ${previous.local} ↔ ${previous.remote} path worked earlier in this session and no longer answers: ` +
        'the network between the peers is down or has changed',
    );
    return parts.join('; ');
  }
  if (turn.length > 0 && !seen.local.has('relay')) {
    parts.push(turnTrouble(turn, seen, nowMs));
    return parts.join('; ');
  }
  if (turn.length > 0) {
    if (!seen.remote.has('relay')) parts.push('the peer has no relay candidate: give it a TURN server too');
    return parts.join('; ');
  }
  if (seen.remote.size === 0) parts.push('the peer sent no candidates');
  else if (seen.local.has('srflx') && seen.remote.has('srflx'))
    parts.push(
      'both sides are behind NATs (each learned a public address from STUN) and no direct pair answered: ' +
        'at least one NAT maps each destination to a new port (symmetric) or drops unsolicited packets, ' +
        'which only a TURN relay crosses',
    );
  else if (!seen.local.has('srflx') && !seen.remote.has('srflx'))
    parts.push(
      `${stun.length === 0 ? 'no STUN server was set' : 'neither side learned a public address from STUN (no answer came back: UDP may be blocked)'}, ` +
        "so only the peers' local addresses were tried",
    );
  else
    parts.push(
      `only ${seen.local.has('srflx') ? 'this side' : 'the peer'} learned a public address from STUN; ` +
        `${seen.local.has('srflx') ? 'the peer' : 'this side'} got no STUN answer`,
    );
  parts.push(
    context.directOnly
      ? "a TURN relay crosses any NAT, and the signal server's relay (TCP) crosses a network that blocks UDP: run without --direct-only"
      : 'a TURN relay crosses any NAT: set TURN_URLS and TURN_SECRET on the signal server, or a turn: URL in ICE_SERVERS',
  );
  return parts.join('; ');
}

/**
 * Candidate gathering ended with nothing this side may use: under --relay no
 * relay candidate, otherwise none at all. Waiting for ICE cannot help.
 */
export function nothingGathered(
  context: FailureContext,
  seen: Observed,
  nowMs = Date.now(),
): PeerlaneError | undefined {
  const relayOnly = context.iceTransportPolicy === 'relay';
  if (relayOnly ? seen.local.has('relay') : seen.local.size > 0) return undefined;
  const turn = context.iceServers.filter(isTurnServer);
  const what = relayOnly
    ? 'no relay candidate for --relay'
    : 'no candidate at all (no usable network address)';
  const why = turn.length > 0 ? `; ${turnTrouble(turn, seen, nowMs)}` : '';
  return new PeerlaneError('ICE_FAILED', `candidate gathering ended with ${what}${why}`);
}
