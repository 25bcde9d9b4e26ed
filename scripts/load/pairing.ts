/**
 * One pairing through the real signal server: the receiver connects and
 * registers, the sender connects and joins its nameplate, then the two talk
 * through the relay (`converse`) and both close.
 */
import type { SignalClient } from '../../src/core/signaling/client.js';
import type { PeerRole } from '../../src/core/signaling/protocol.js';
import type { SignalAddress } from '../../src/signaling/socket.js';
import { connectSignal } from '../../src/signaling/socket.js';

/** What the paired peers say to each other; pushes the one-way latency (ms) of each sealed message. */
export type Converse = (
  tx: SignalClient,
  rx: SignalClient,
  nameplate: string,
  rxRole: PeerRole,
  latencies: number[],
) => Promise<void>;

/** A pairing slower than this is stuck, and counted as an error. */
const PAIRING_TIMEOUT_MS = 30_000;

/** One pairing, or an error naming the stage it was stuck at after PAIRING_TIMEOUT_MS. */
export function pairing(
  rxAt: SignalAddress,
  txAt: SignalAddress,
  converse: Converse,
  latencies: number[],
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const stage = { at: 'connect' };
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`pairing timed out at ${stage.at}`)), PAIRING_TIMEOUT_MS);
  });
  return Promise.race([pairOnce(rxAt, txAt, converse, latencies, stage), timeout]).finally(() =>
    clearTimeout(timer),
  );
}

async function pairOnce(
  rxAt: SignalAddress,
  txAt: SignalAddress,
  converse: Converse,
  latencies: number[],
  stage: { at: string },
): Promise<void> {
  const rx = await connectSignal(rxAt);
  let tx: SignalClient | undefined;
  try {
    stage.at = 'register';
    const nameplate = await rx.register();
    stage.at = 'join';
    tx = await connectSignal(txAt);
    const [, rxRole] = await Promise.all([tx.join(nameplate), rx.waitForPeer()]);
    stage.at = 'relay';
    await converse(tx, rx, nameplate, rxRole, latencies);
  } finally {
    tx?.close();
    rx.close();
  }
}
