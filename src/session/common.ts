/** What both roles share: options, the key exchange, and opening the data channel. */

import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { RtcOptions } from '../rtc/connect.js';
import { connectPeer } from '../rtc/connect.js';
import { secureHandshake, shortAuthString } from '../secure/channel.js';
import type { Intent } from '../secure/protocol.js';
import type { SignalAddress, SignalClient } from '../signaling/client.js';
import type { PeerRole, TurnGrant } from '../signaling/protocol.js';
import { turnServersFor } from '../signaling/turn.js';
import type { FramedLinkOptions } from '../transfer/framed-link.js';
import { FramedLink } from '../transfer/framed-link.js';
import type { FileEvent, TransferProgress, TransferResult } from '../transfer/types.js';

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
}

export interface Pairing {
  client: SignalClient;
  role: PeerRole;
  intent: Intent;
  nameplate: string;
  secret: string;
}

/**
 * Authenticate the peer with the code's secret, open the data channel over
 * sealed signaling, and leave the signal server: its job ends with the
 * introduction, and it never carries file data.
 */
export async function openLink(pairing: Pairing, options: SessionOptions): Promise<FramedLink> {
  let link: Awaited<ReturnType<typeof connectPeer>>;
  let sasKey: Buffer;
  try {
    const secure = await secureHandshake(pairing.client, { ...pairing, timeoutMs: options.rtc.timeoutMs });
    sasKey = secure.sasKey;
    link = await connectPeer(pairing.role, secure, rtcWithGrant(options, pairing.client.turnGrant));
    pairing.client.report(link.pathInfo().path);
  } finally {
    pairing.client.close();
  }
  const framed = new FramedLink(link, options.heartbeat);
  const onAbort = (): void => framed.abort(new PeerlaneError('INTERRUPTED', 'interrupted'));
  if (options.abortSignal?.aborted) onAbort();
  options.abortSignal?.addEventListener('abort', onAbort, { once: true });
  const { local, remote } = link.fingerprints();
  options.onEvent?.({
    event: 'connected',
    ...link.pathInfo(),
    ...(options.verify ? { verify: shortAuthString(sasKey, local, remote) } : {}),
  });
  return framed;
}

/** The RTC options with the server's TURN servers added, unless the caller opted out. */
export function rtcWithGrant(options: SessionOptions, grant: TurnGrant | undefined): RtcOptions {
  if (grant === undefined || options.issuedTurn === false) return options.rtc;
  let issued: RtcOptions['iceServers'];
  try {
    issued = turnServersFor(grant.urls, grant);
  } catch (err) {
    throw new PeerlaneError(
      'BAD_MESSAGE',
      `the signal server sent unusable TURN URLs: ${toPeerlaneError(err).message}`,
    );
  }
  return { ...options.rtc, iceServers: [...options.rtc.iceServers, ...issued] };
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PeerlaneError('INTERRUPTED', 'interrupted');
}

/** Race `step` against the abort signal. */
export function abortable<T>(step: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return step;
  throwIfAborted(signal);
  return Promise.race([
    step,
    new Promise<never>((_, reject) =>
      signal.addEventListener('abort', () => reject(new PeerlaneError('INTERRUPTED', 'interrupted')), {
        once: true,
      }),
    ),
  ]);
}

export function progressEvent(p: TransferProgress): Parameters<EventSink>[0] {
  return {
    event: 'progress',
    file: p.name,
    fileBytes: p.fileBytes,
    fileSize: p.fileSize,
    bytes: p.bytes,
    total: p.total,
  };
}

export function fileEvent(e: FileEvent): Parameters<EventSink>[0] {
  if (e.phase === 'start') return { event: 'file-start', file: e.name, size: e.size };
  const { phase: _phase, file: _file, ...result } = e;
  return { event: 'file-done', ...result };
}

export function doneEvent(result: TransferResult): Parameters<EventSink>[0] {
  const seconds = result.ms / 1000;
  const mbps = seconds > 0 ? result.bytes / 1e6 / seconds : 0;
  return {
    event: 'done',
    files: result.files,
    bytes: result.bytes,
    seconds: Math.round(seconds * 1000) / 1000,
    mbps: Math.round(mbps * 10) / 10,
    usage: processUsage(),
  };
}

/** CPU seconds of every thread (libdatachannel's included) and peak RSS, from getrusage(2). */
export function processUsage(): { cpuSeconds: number; maxRssBytes: number } {
  const u = process.resourceUsage();
  return {
    cpuSeconds: Math.round((u.userCPUTime + u.systemCPUTime) / 1000) / 1000,
    maxRssBytes: u.maxRSS * 1024,
  };
}
