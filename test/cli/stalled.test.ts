/**
 * A peer that stays alive (it answers pings) but never moves the transfer on
 * must not hold the other side forever: both directions, with the real CLI
 * against a raw peer that completed the real handshake.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RECEIVE_WINDOW, TRANSFER_PROTOCOL_VERSION } from '../../src/core/transfer/protocol.js';
import { listTree, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';
import { rawReceiver, rawSender } from '../../src/testing/raw-peer.js';
import { allocDataFrame, encodeControl } from '../../src/transfer/frames.js';

/** Short, so the test is quick; the default is minutes. */
const STALL = { PEER_STALL_TIMEOUT: '3' };

const { h, server } = useSignalServer({ beforeEach, afterEach });

/** The process ends with STALLED, well within a minute (it would wait forever without the deadline). */
async function stalls(proc: EventProcess): Promise<void> {
  const started = Date.now();
  const exit = await proc.exit(30_000);
  expect(proc.error?.code, proc.stderr).toBe('STALLED');
  expect(exit.code).toBe(1);
  expect(Date.now() - started).toBeLessThan(20_000);
}

describe('no progress', () => {
  it('a receiver that pings but never grants credit: the sender stops with STALLED and says so', async () => {
    const file = path.join(await h.tempDir(), 'big.bin');
    await writeRandomFile(file, 4 * 1024 * 1024);
    const tx = h.peer(['send', file, ...server.peerArgs], { env: STALL });
    const { code } = await tx.waitFor('ready');
    const rx = await rawReceiver(server, code);
    try {
      rx.keepAlive();
      await rx.next('manifest');
      // A window for one frame's worth, then never a CREDIT.
      rx.link.send(encodeControl({ type: 'accept', window: 64 * 1024, resume: [] }));
      await stalls(tx);
      expect((await rx.next('error')).code).toBe('STALLED');
    } finally {
      rx.close();
    }
  });

  it('a sender that pings but never sends its data: the receiver stops with STALLED and keeps the .part', async () => {
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--yes', '--out', out, ...server.peerArgs], { env: STALL });
    const { code } = await rx.waitFor('ready');
    const tx = await rawSender(server, code);
    try {
      tx.keepAlive();
      tx.link.send(
        encodeControl({
          type: 'manifest',
          v: TRANSFER_PROTOCOL_VERSION,
          // A stated hash: only then is a .part's state kept to resume (resume.ts).
          files: [{ name: 'big.bin', size: RECEIVE_WINDOW, sha256: 'a'.repeat(64) }],
        }),
      );
      await tx.next('accept');
      tx.link.send(encodeControl({ type: 'file-start', file: 0, offset: 0 }));
      tx.link.send(allocDataFrame(0, 0, 1000).fill(1, 11));
      await stalls(rx);
      expect((await tx.next('error')).code).toBe('STALLED');
      // Not proven bad, only stopped: kept for a resume.
      expect(await listTree(out)).toEqual(['big.bin.part', 'big.bin.part.peerlane']);
    } finally {
      tx.close();
    }
  });
});
