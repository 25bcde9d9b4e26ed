/**
 * What one pairing says once the server has paired it, the same whether it
 * runs over two SignalClients (fresh mode) or two in-memory pipes (recording
 * transcripts for replay): the PAKE, then PINGS sealed pings answered by
 * sealed pongs. With the 2 shares and 2 confirmations that is 10 relayed
 * messages, the same count and sizes as the start of a real session.
 */
import { randomBytes } from 'node:crypto';
import type { SecureChannel } from '../../src/core/secure/channel.js';
import { generateSecret } from '../../src/core/secure/code.js';
import { secureHandshake } from '../../src/core/secure/handshake.js';
import type { SignalPipe } from '../../src/core/signaling/pipe.js';
import type { PeerRole } from '../../src/core/signaling/protocol.js';
import type { Converse } from './pairing.js';

export const PINGS = 3;
/** Far above any pairing's time; only a stuck one reaches it. */
export const HANDSHAKE_TIMEOUT_MS = 30_000;

/**
 * The real PAKE between a sender (`tx`, joined) and a receiver (`rx`, registered),
 * under the session id the server paired them with (a recording makes one up).
 */
export function handshake(
  tx: SignalPipe,
  rx: SignalPipe,
  nameplate: string,
  rxRole: PeerRole,
  sid: Uint8Array = randomBytes(16),
): Promise<[SecureChannel, SecureChannel]> {
  const common = { nameplate, secret: generateSecret(), sid, timeoutMs: HANDSHAKE_TIMEOUT_MS };
  return Promise.all([
    secureHandshake(tx, { ...common, role: 'offerer', intent: 'send' }),
    secureHandshake(rx, { ...common, role: rxRole, intent: 'receive' }),
  ]);
}

/**
 * PINGS round trips of sealed messages, each carrying its send time, so the
 * side that opens it can push its one-way latency in ms.
 */
export function pingPong(a: SecureChannel, b: SecureChannel, latencies: number[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let pongs = 0;
    a.onFailure(reject);
    b.onFailure(reject);
    b.onPayload((sent) => {
      latencies.push(performance.now() - Number(sent));
      b.sendPayload(String(performance.now()));
    });
    a.onPayload((sent) => {
      latencies.push(performance.now() - Number(sent));
      if (++pongs === PINGS) resolve();
      else a.sendPayload(String(performance.now()));
    });
    a.sendPayload(String(performance.now()));
  });
}

/** Fresh mode: the generator runs both sides' CPace for every pairing, as real peers would. */
export const fresh: Converse = async (tx, rx, nameplate, rxRole, latencies) => {
  const [a, b] = await handshake(tx, rx, nameplate, rxRole, tx.sessionId);
  await pingPong(a, b, latencies);
};
