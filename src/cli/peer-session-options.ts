/**
 * The connection settings of `peer` (cli/peer-settings.ts), parsed, into the
 * options a session takes: where the signal server is, which ICE servers,
 * which links, how long to wait and how often to try again.
 */

import { parseHostPort } from '../config.js';
import { PeerlaneError } from '../core/errors.js';
import type { RtcOptions } from '../rtc/connect.js';
import type { IceServer } from '../rtc/ice-servers.js';
import { isTurnServer } from '../rtc/ice-servers.js';
import type { SessionOptions } from '../session/common.js';
import type { SignalAddress } from '../signaling/socket.js';
import type { Output } from './output.js';
import type {
  PEER_CONNECTION_SETTINGS,
  PEER_GLOBAL_SETTINGS,
  PEER_SWARM_CONNECTION_SETTINGS,
} from './peer-settings.js';
import type { SettingValues } from './settings.js';

export type GlobalValues = SettingValues<typeof PEER_GLOBAL_SETTINGS>;
export type ConnectionValues = GlobalValues & SettingValues<typeof PEER_CONNECTION_SETTINGS>;
/** What share and get take: how to reach the signal server and open a link, no more. */
export type LinkValues = GlobalValues & SettingValues<typeof PEER_SWARM_CONNECTION_SETTINGS>;

/** --signal, with SIGNALING_SERVER_PORT for a bare host. */
export function signalAddress(settings: GlobalValues): SignalAddress {
  return parseHostPort(settings.signal, settings.SIGNALING_SERVER_PORT);
}

/** Where the signal server is and how links are opened: a pair's session and a swarm's members alike. */
export function linkOptions(settings: LinkValues): Pick<SessionOptions, 'signal' | 'issuedTurn' | 'rtc'> {
  const signal = signalAddress(settings);
  const directOnly = settings['direct-only'];
  if (settings.relay && directOnly) {
    throw new PeerlaneError('USAGE', '--relay and --direct-only exclude each other');
  }
  const selection = settings['ice-servers'];
  let iceServers: IceServer[] =
    selection.mode === 'auto'
      ? [{ hostname: signal.host, port: signal.port }] // the signal server answers STUN on its port number
      : selection.mode === 'list'
        ? selection.servers
        : [];
  if (directOnly) iceServers = iceServers.filter((s) => !isTurnServer(s));
  const rtc: RtcOptions = {
    iceServers,
    ...(settings.relay ? { iceTransportPolicy: 'relay' as const } : {}),
    ...(directOnly ? { directOnly: true } : {}),
    bindAddress: settings['bind-address'] || undefined,
    timeoutMs: settings.timeout * 1000,
    mtu: settings.mtu,
    transport: settings.transport,
    ...(settings['debug-ice'] ? { debugIce: true } : {}),
  };
  return { signal, issuedTurn: selection.mode !== 'none' && !directOnly, rtc };
}

export function sessionOptions(
  settings: ConnectionValues,
  output: Output,
  abortSignal: AbortSignal,
): SessionOptions {
  return {
    ...linkOptions(settings),
    onEvent: (e) => output.event(e),
    verify: settings.verify || settings['show-words'],
    heartbeat: { stallTimeoutMs: settings['stall-timeout'] * 1000 },
    reconnects: settings.reconnects,
    reconnectForMs: settings['reconnect-for'] * 1000,
    ...(settings.isolate ? { isolate: { freezeLimitMs: settings['freeze-limit'] * 1000 } } : {}),
    abortSignal,
  };
}
