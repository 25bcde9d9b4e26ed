/**
 * A send or a receive from the page, on the same core as the CLI: pairing and
 * the PAKE (core/session/pair.ts), the session with its reconnection
 * (core/session/peer-session.ts), and the engines around it
 * (core/session/transfer.ts). Only the ends are the browser's: a WebSocket to
 * the signal server, an RTCDataChannel, the page's files and a JavaScript SHA-256.
 */
import type { EventSink } from '../core/events.js';
import { DEFAULTS } from '../core/session/defaults.js';
import type { Pairing } from '../core/session/pair.js';
import { checkCode, pair } from '../core/session/pair.js';
import type { PeerSession } from '../core/session/peer-session.js';
import { startSession } from '../core/session/peer-session.js';
import { receiveOver, runReceiver, runSender, sendOver } from '../core/session/transfer.js';
import { PAGE_CONFIG_PATH, parsePageConfig } from '../core/signaling/page-config.js';
import type { TurnGrant } from '../core/signaling/protocol.js';
import type { ReceiverFiles } from '../core/transfer/file-access.js';
import { systemClock } from '../core/transfer/ports.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import type { TransferResult } from '../core/transfer/types.js';
import { browserSha256 } from './hasher.js';
import { webLinks } from './rtc-attempt.js';
import type { PickedFile } from './send-files.js';
import { BrowserSenderFiles, entriesFor } from './send-files.js';
import { connectSignalWs } from './signal-ws.js';

/** As the CLI's --timeout default: seconds from pairing to an open channel. */
export const CONNECT_TIMEOUT_MS = 30_000;

export interface WebPeerOptions {
  /** The signal server's WebSocket (signalUrl(location)). */
  signalUrl: string;
  /** The other side's code; absent: wait under a fresh one (the `ready` event shows it). */
  code?: string | undefined;
  /** Waiting: also be reachable under this name, and with `listed` shown in the list. */
  name?: string | undefined;
  listed?: boolean | undefined;
  onEvent: EventSink;
  /** Show the --verify words in the `connected` event. */
  verify?: boolean | undefined;
  abortSignal?: AbortSignal | undefined;
}

/**
 * ICE servers for a browser: the signal server's STUN (its page configuration)
 * and the TURN credentials it issued at pairing, if any.
 */
function iceServersFor(stun: string[], grant: TurnGrant | undefined): RTCIceServer[] {
  const servers: RTCIceServer[] = stun.map((urls) => ({ urls }));
  if (grant !== undefined)
    servers.push({ urls: grant.urls, username: grant.username, credential: grant.password });
  return servers;
}

/**
 * The signal server's STUN, from its page configuration on the page's own
 * origin. Without it (an older server, a proxy that does not pass it) the page
 * still connects on host candidates and TURN: an empty list, not a failure.
 */
async function serverStun(): Promise<string[]> {
  try {
    const res = await fetch(PAGE_CONFIG_PATH, { cache: 'no-store' });
    return res.ok ? parsePageConfig(await res.text()).stun : [];
  } catch (err) {
    console.debug(`no STUN from the page configuration: ${String(err)}`);
    return [];
  }
}

async function session(intent: 'send' | 'receive', options: WebPeerOptions): Promise<PeerSession> {
  checkCode({ ...options, intent });
  // Asked while the pairing waits for the other side, so it costs no time.
  const stun = serverStun();
  const pairing: Pairing = await pair(() => connectSignalWs(options.signalUrl), { ...options, intent });
  return startSession(pairing, {
    onEvent: options.onEvent,
    verify: options.verify,
    abortSignal: options.abortSignal,
    reconnects: DEFAULTS.PEER_RECONNECTS,
    reconnectForMs: DEFAULTS.PEER_RECONNECT_FOR * 1000,
    handshakeTimeoutMs: CONNECT_TIMEOUT_MS,
    agent: 'page',
    openLinks: webLinks({
      iceServers: iceServersFor(await stun, pairing.client.turnGrant),
      timeoutMs: CONNECT_TIMEOUT_MS,
    }),
  });
}

export interface WebReceiveOptions extends WebPeerOptions {
  files: ReceiverFiles;
  /** Ask the person; throw (REFUSED) to refuse. */
  onManifest: (files: readonly ManifestEntry[], signal: AbortSignal) => Promise<void>;
}

export async function webReceive(options: WebReceiveOptions): Promise<TransferResult> {
  const s = await session('receive', options);
  try {
    const { result } = await receiveOver(s, {
      emit: options.onEvent,
      onManifest: options.onManifest,
      resumable: true,
      transfer: (link, hooks) =>
        runReceiver({ link, files: options.files, sha256: browserSha256, clock: systemClock, ...hooks }),
    });
    return result;
  } finally {
    s.close();
  }
}

export interface WebSendOptions extends WebPeerOptions {
  files: readonly PickedFile[];
  /** With verify: resolve once the person says the words match; throw to stop. */
  confirmVerify?: ((words: string, signal: AbortSignal) => Promise<void>) | undefined;
}

export async function webSend(options: WebSendOptions): Promise<TransferResult> {
  const entries = entriesFor(options.files);
  const files = new BrowserSenderFiles(options.files, entries, browserSha256);
  // Hashed while the peers find each other; the engine awaits this same run.
  const hashed = files.hashAll();
  hashed.catch(() => {});
  let words: string | undefined;
  const s = await session('send', {
    ...options,
    onEvent: (e) => {
      if (e.event === 'connected') words = e.verify;
      options.onEvent(e);
    },
  });
  try {
    return await sendOver(s, {
      emit: options.onEvent,
      words: () => words,
      confirmVerify: options.confirmVerify,
      resumable: true,
      transfer: (link, hooks) =>
        runSender({
          link,
          entries,
          files: { hashAll: () => hashed, open: (i) => files.open(i) },
          sha256: browserSha256,
          clock: systemClock,
          ...hooks,
        }),
    });
  } finally {
    s.close();
  }
}

/** The receivers waiting with a listed name on the page's server. */
export async function listPeers(signalUrl: string): Promise<string[]> {
  const client = await connectSignalWs(signalUrl);
  try {
    return await client.list();
  } finally {
    client.close();
  }
}
