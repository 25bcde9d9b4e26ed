/**
 * Field checks for the daemon's messages (protocol.ts) and its jobs file
 * (store.ts): optional numbers and booleans, absolute paths, and the
 * connection settings a job runs with (RtcOptions, the signal server's
 * address) as JSON carries them. Every failure is BAD_MESSAGE, through the
 * signaling layer's `bad` and `str` (core/signaling/fields.ts).
 */

import path from 'node:path';
import { TRANSPORTS, type Transport } from '../config.js';
import type { PeerAgent } from '../core/secure/protocol.js';
import { PEER_AGENTS } from '../core/secure/protocol.js';
import { bad, str } from '../core/signaling/fields.js';
import type { RtcOptions } from '../rtc/connect.js';
import type { IceServer } from '../rtc/ice-servers.js';
import type { SignalAddress } from '../signaling/socket.js';

export { bad, str };

/** PATH_MAX on Linux: no path the CLI can name is longer. */
export const MAX_PATH_BYTES = 4096;
/** A host name is at most 253 bytes; a TURN username or password stays far under this. */
const MAX_HOST_BYTES = 253;
const MAX_CREDENTIAL_BYTES = 512;
/** More ICE servers than a person configures; caps what one request may list. */
const MAX_ICE_SERVERS = 16;
const RELAY_TYPES = ['TurnUdp', 'TurnTcp', 'TurnTls'] as const;

export type Fields = Record<string, unknown>;

/**
 * `value` without the keys whose value is undefined: a spec built from
 * optional fields compares and persists without them (exactOptionalPropertyTypes
 * forbids an explicit undefined where a key may be absent).
 */
export function defined<T extends object>(value: { [K in keyof T]-?: T[K] | undefined }): T {
  // Only undefined values are dropped, which is what the optional keys of T allow.
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function object(raw: unknown, what: string): Fields {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw bad(`field "${what}" must be an object`);
  }
  return raw as Fields;
}

/** A non-negative integer up to `max`, or undefined when absent. */
export function optionalCount(obj: Fields, key: string, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw bad(`field "${key}" must be an integer from 0 to ${max}`);
  }
  return value;
}

export function count(obj: Fields, key: string): number {
  const value = optionalCount(obj, key);
  if (value === undefined) throw bad(`field "${key}" is missing`);
  return value;
}

export function optionalBoolean(obj: Fields, key: string): boolean | undefined {
  const value = obj[key];
  if (value !== undefined && typeof value !== 'boolean') throw bad(`field "${key}" must be a boolean`);
  return value;
}

function optionalString(obj: Fields, key: string, max: number): string | undefined {
  return obj[key] === undefined ? undefined : str(obj, key, max);
}

/** An absolute path: the daemon runs in another folder than the CLI that named it. */
export function absolutePath(obj: Fields, key: string): string {
  const value = str(obj, key, MAX_PATH_BYTES);
  if (!path.isAbsolute(value) || value.includes('\0')) throw bad(`field "${key}" must be an absolute path`);
  return value;
}

export function signalAddressField(raw: unknown): SignalAddress {
  const obj = object(raw, 'signal');
  const port = count(obj, 'port');
  if (port > 65535) throw bad('field "port" must be a port number');
  return { host: str(obj, 'host', MAX_HOST_BYTES), port };
}

function iceServer(raw: unknown): IceServer {
  if (typeof raw === 'string') return str({ url: raw }, 'url', MAX_CREDENTIAL_BYTES);
  const obj = object(raw, 'iceServers');
  const { host: hostname, port } = signalAddressField({ host: obj.hostname, port: obj.port });
  if (obj.relayType === undefined) return { hostname, port };
  const relayType = RELAY_TYPES.find((t) => t === obj.relayType);
  if (relayType === undefined) throw bad('field "relayType" is invalid');
  return {
    hostname,
    port,
    username: str(obj, 'username', MAX_CREDENTIAL_BYTES),
    password: str(obj, 'password', MAX_CREDENTIAL_BYTES),
    relayType,
  };
}

function transportField(obj: Fields): Transport | undefined {
  if (obj.transport === undefined) return undefined;
  const transport = TRANSPORTS.find((t) => t === obj.transport);
  if (transport === undefined) throw bad('field "transport" is invalid');
  return transport;
}

/** RtcOptions as JSON carries them (every field is plain data). */
export function rtcField(raw: unknown): RtcOptions {
  const obj = object(raw, 'rtc');
  const servers = obj.iceServers;
  if (!Array.isArray(servers) || servers.length > MAX_ICE_SERVERS) {
    throw bad(`field "iceServers" must list at most ${MAX_ICE_SERVERS} servers`);
  }
  const policy = obj.iceTransportPolicy;
  if (policy !== undefined && policy !== 'all' && policy !== 'relay') {
    throw bad('field "iceTransportPolicy" is invalid');
  }
  return defined<RtcOptions>({
    iceServers: servers.map(iceServer),
    timeoutMs: count(obj, 'timeoutMs'),
    iceTransportPolicy: policy,
    directOnly: optionalBoolean(obj, 'directOnly'),
    bindAddress: optionalString(obj, 'bindAddress', MAX_HOST_BYTES),
    mtu: optionalCount(obj, 'mtu', 65535),
    transport: transportField(obj),
    relayAddress: obj.relayAddress === undefined ? undefined : signalAddressField(obj.relayAddress),
    debugIce: optionalBoolean(obj, 'debugIce'),
    peerAgent: peerAgentField(obj),
  });
}

function peerAgentField(obj: Fields): PeerAgent | undefined {
  if (obj.peerAgent === undefined) return undefined;
  const agent = PEER_AGENTS.find((a) => a === obj.peerAgent);
  if (agent === undefined) throw bad('field "peerAgent" is invalid');
  return agent;
}
