/**
 * A peer that completes the real handshake and then speaks raw transfer
 * frames: for tests of hostile or broken peers, and of timeouts.
 */

import { parseCode } from '../core/secure/code.js';
import { secureHandshake } from '../core/secure/handshake.js';
import type { Intent } from '../core/secure/protocol.js';
import type { SignalClient } from '../core/signaling/client.js';
import type { Frame } from '../core/transfer/protocol.js';
import { PING_INTERVAL_MS, parseFrame } from '../core/transfer/protocol.js';
import { connectPeer } from '../rtc/connect.js';
import type { Link } from '../rtc/link.js';
import type { SignalAddress } from '../signaling/socket.js';
import { connectSignal } from '../signaling/socket.js';
import { encodeControl } from '../transfer/frames.js';
import { LOOPBACK } from './harness.js';

export interface RawPeer {
  link: Link;
  /** Frames received so far, parsed. */
  frames: Frame[];
  /** Resolves with the first frame of `type`. */
  next<T extends Frame['type']>(type: T, timeoutMs?: number): Promise<Extract<Frame, { type: T }>>;
  /** PING every PING_INTERVAL_MS from now on, as a live peer does, and nothing else unless told. */
  keepAlive(): void;
  close(): void;
}

/** Join the receiver waiting under `code`, run the real PAKE, open the data channel, and hand it over raw. */
export function rawSender(signal: SignalAddress, code: string, timeoutMs = 10_000): Promise<RawPeer> {
  return rawPeer(signal, code, 'send', timeoutMs);
}

/** Join the sender that printed `code` (it went first) as its receiver, and hand the channel over raw. */
export function rawReceiver(signal: SignalAddress, code: string, timeoutMs = 10_000): Promise<RawPeer> {
  return rawPeer(signal, code, 'receive', timeoutMs);
}

async function rawPeer(
  signal: SignalAddress,
  code: string,
  intent: Intent,
  timeoutMs: number,
): Promise<RawPeer> {
  const { nameplate, secret } = parseCode(code);
  const client = await connectSignal(signal);
  const role = await client.join(nameplate);
  const secure = await secureHandshake(client, {
    role,
    intent,
    nameplate,
    secret,
    sid: client.sessionId,
    timeoutMs,
  });
  const link = await connectPeer(role, secure, { iceServers: [], bindAddress: LOOPBACK, timeoutMs });
  client.close();
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  let pinger: NodeJS.Timeout | undefined;
  link.onMessage((raw) => {
    frames.push(parseFrame(raw));
    for (const w of waiters.splice(0)) w();
  });
  return {
    link,
    frames,
    next(type, wait = 10_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} frame within ${wait} ms`)), wait);
        const check = (): void => {
          const found = frames.find((f) => f.type === type);
          if (found) {
            clearTimeout(timer);
            resolve(found as Extract<Frame, { type: typeof type }>);
          } else waiters.push(check);
        };
        check();
      });
    },
    keepAlive() {
      pinger ??= setInterval(() => link.send(encodeControl({ type: 'ping' })), PING_INTERVAL_MS);
    },
    close: () => {
      clearInterval(pinger);
      link.close();
    },
  };
}

/** Pair with a waiting receiver through the server, then say nothing at all. */
export async function silentJoiner(signal: SignalAddress, code: string): Promise<SignalClient> {
  const client = await connectSignal(signal);
  await client.join(parseCode(code).nameplate);
  return client;
}

/** Register under a fresh nameplate, then ignore whoever joins. `code` is a well-formed code for it. */
export async function silentRegistrant(
  signal: SignalAddress,
): Promise<{ client: SignalClient; code: string }> {
  const client = await connectSignal(signal);
  const nameplate = await client.register();
  return { client, code: `${nameplate}-abandon-ability` };
}
