/** What both roles share: options, the key exchange, and opening the data channel. */

import { parseHostPort } from '../config.js';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import type { TurnGrant } from '../core/signaling/protocol.js';
import type { FramedLinkOptions } from '../core/transfer/framed-link.js';
import type { TransferResult } from '../core/transfer/types.js';
import type { RtcOptions } from '../rtc/connect.js';
import { turnServersFor } from '../rtc/ice-servers.js';
import type { SignalAddress } from '../signaling/socket.js';
import { childCpuSeconds } from './attempt-jobs.js';

export interface SessionOptions {
  signal: SignalAddress;
  rtc: RtcOptions;
  /**
   * Add the TURN credentials the signal server issues at pairing to
   * `rtc.iceServers` (default true). `peer --direct-only` and
   * `--ice-servers ''` turn this off.
   */
  issuedTurn?: boolean;
  onEvent?: EventSink;
  /** Report the short authentication string in the `connected` event. */
  verify?: boolean;
  /** Aborting ends the transfer with INTERRUPTED and cleans up, like a peer failure. */
  abortSignal?: AbortSignal;
  /** Heartbeat tuning, for tests. */
  heartbeat?: FramedLinkOptions;
  /** Reconnection attempts allowed per outage of the data channel (default 20; 0: none). */
  reconnects?: number | undefined;
  /** How long one outage may last: reconnection gives up after this (default 120 s). */
  reconnectForMs?: number | undefined;
  /**
   * Run each connection attempt, and the transfer over it, in a child process
   * (attempt-process.ts): one frozen inside libdatachannel is killed after
   * `freezeLimitMs` and replaced by a new attempt. Streams stay in process.
   */
  isolate?: { freezeLimitMs: number } | undefined;
}

export type { Pairing } from '../core/session/pair.js';
export { abortable, throwIfAborted } from '../core/session/pair.js';

/** The RTC options with the server's TURN servers added, unless the caller opted out. */
export function rtcWithGrant(
  options: SessionOptions,
  grant: TurnGrant | undefined,
  /** The relay instance `paired` named (instances sharing Redis); else the signal address. */
  pairedRelay?: string,
): RtcOptions {
  const named = pairedRelay === undefined ? undefined : parseHostPort(pairedRelay, options.signal.port);
  const rtc = { ...options.rtc, relayAddress: options.rtc.relayAddress ?? named ?? options.signal };
  if (grant === undefined || options.issuedTurn === false) return rtc;
  let issued: RtcOptions['iceServers'];
  try {
    issued = turnServersFor(grant.urls, grant);
  } catch (err) {
    throw new PeerlaneError(
      'BAD_MESSAGE',
      `the signal server sent unusable TURN URLs: ${toPeerlaneError(err).message}`,
    );
  }
  return { ...rtc, iceServers: [...rtc.iceServers, ...issued] };
}

/** Use the session once it has started, and close it whatever happens. */
export async function withSession<S extends { close(): void }, T>(
  starting: Promise<S>,
  use: (session: S) => Promise<T>,
): Promise<T> {
  const session = await starting;
  try {
    return await use(session);
  } finally {
    session.close();
  }
}

/** `extra`: the receiver's --out folder, or that it was a text. */
export function doneEvent(
  result: TransferResult,
  extra: { out?: string; text?: true } = {},
): Parameters<EventSink>[0] {
  const seconds = result.ms / 1000;
  const mbps = seconds > 0 ? result.bytes / 1e6 / seconds : 0;
  return {
    event: 'done',
    files: result.files,
    bytes: result.bytes,
    seconds: Math.round(seconds * 1000) / 1000,
    mbps: Math.round(mbps * 10) / 10,
    usage: processUsage(),
    ...extra,
  };
}

/**
 * CPU seconds of every thread (libdatachannel's included), with what the
 * attempts' child processes (--isolate) reported, and peak RSS (this
 * process's), from getrusage(2).
 */
export function processUsage(): { cpuSeconds: number; maxRssBytes: number } {
  const u = process.resourceUsage();
  return {
    cpuSeconds: Math.round((u.userCPUTime + u.systemCPUTime) / 1000 + childCpuSeconds() * 1000) / 1000,
    maxRssBytes: u.maxRSS * 1024,
  };
}
