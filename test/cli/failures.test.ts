/**
 * Every failure the CLI promises to handle: a one-line message, a stable code
 * in the `error` event, a non-zero exit, and no complete-looking file left.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOCK_SIZE, RECEIVE_WINDOW, TRANSFER_PROTOCOL_VERSION } from '../../src/core/transfer/protocol.js';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess } from '../../src/testing/harness.js';
import { peerArgsFor } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';
import { rawSender, silentJoiner, silentRegistrant } from '../../src/testing/raw-peer.js';
import { encodeControl } from '../../src/transfer/frames.js';
import { untilBytes } from '../helpers.js';

const { h, server } = useSignalServer({ beforeEach, afterEach });

async function expectFailure(proc: EventProcess, code: string, status = 1): Promise<void> {
  const exit = await proc.exit();
  expect(proc.error?.code, proc.stderr).toBe(code);
  expect(exit.code).toBe(status);
  // One line on stderr names the code and what to do next.
  expect(proc.stderr).toMatch(new RegExp(`^peer: ${code}: .+\\. Next: .+\\.$`, 'm'));
}

/** A port with nothing listening: bind one, then let it go. */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const BIG = 300 * 1024 * 1024;

/** Receive and send `file` into `out` again, with a new code; the receiver's done event. */
async function rerun(file: string, out: string) {
  const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
  const { code } = await rx.waitFor('ready');
  const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
  expect((await tx.exit()).code, tx.stderr).toBe(0);
  expect((await rx.exit()).code, rx.stderr).toBe(0);
  return rx.waitFor('done');
}

async function bigFile(size = BIG): Promise<string> {
  const file = path.join(await h.tempDir('peerlane-src-'), 'big.bin');
  await writeRandomFile(file, size);
  return file;
}

describe('CLI failures', () => {
  it('SIGNAL_UNREACHABLE when no signal server listens', async () => {
    const args = peerArgsFor('127.0.0.1', await deadPort());
    const out = await h.tempDir();
    await expectFailure(h.peer(['receive', '--out', out, ...args]), 'SIGNAL_UNREACHABLE');
    const file = path.join(out, 'x');
    await fs.writeFile(file, 'x');
    await expectFailure(
      h.peer(['send', file, '--to', '99999-abandon-ability', ...args]),
      'SIGNAL_UNREACHABLE',
    );
  });

  it('PEER_NOT_FOUND for a code nobody waits under, and the server keeps serving', async () => {
    const dir = await h.tempDir();
    const file = path.join(dir, 'x');
    await fs.writeFile(file, 'x');
    await expectFailure(
      h.peer(['send', file, '--to', '99999-abandon-ability', ...server.peerArgs]),
      'PEER_NOT_FOUND',
    );
    const rx = h.peer(['receive', '--out', await h.tempDir(), '--yes', ...server.peerArgs]);
    expect((await rx.waitFor('ready')).code).toMatch(/-/);
  });

  it('BAD_CODE for a malformed code, before touching the network', async () => {
    const dir = await h.tempDir();
    const file = path.join(dir, 'x');
    await fs.writeFile(file, 'x');
    await expectFailure(h.peer(['send', file, '--to', '../../etc', ...server.peerArgs]), 'BAD_CODE');
  });

  it('INPUT_NOT_FOUND for a missing file, and usage errors exit 2', async () => {
    await expectFailure(
      h.peer(['send', '/nonexistent/file', '--to', '7-abandon-ability', ...server.peerArgs]),
      'INPUT_NOT_FOUND',
    );
    await expectFailure(h.peer(['send', ...server.peerArgs]), 'USAGE', 2);
    await expectFailure(h.peer(['receive', '--bogus-flag', ...server.peerArgs]), 'USAGE', 2);
  });

  it('OUT_NOT_WRITABLE before a code is printed', async () => {
    const dir = await h.tempDir();
    await fs.writeFile(path.join(dir, 'file'), 'x');
    const rx = h.peer(['receive', '--out', path.join(dir, 'file', 'sub'), ...server.peerArgs]);
    await expectFailure(rx, 'OUT_NOT_WRITABLE');
    expect(rx.events.some((e) => e.event === 'ready')).toBe(false);
  });

  it('CONNECT_TIMEOUT when the paired peer never completes the handshake', async () => {
    const rx = h.peer(['receive', '--out', await h.tempDir(), '--yes', '--timeout', '2', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const joiner = await silentJoiner(server, code);
    const started = Date.now();
    await expectFailure(rx, 'CONNECT_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(8_000);
    joiner.close();

    const { client, code: code2 } = await silentRegistrant(server);
    const dir = await h.tempDir();
    await fs.writeFile(path.join(dir, 'x'), 'x');
    await expectFailure(
      h.peer(['send', path.join(dir, 'x'), '--to', code2, '--timeout', '2', ...server.peerArgs]),
      'CONNECT_TIMEOUT',
    );
    client.close();
  });

  it('kill -9 the sender at ~40%: PEER_LOST within 15 s, then a rerun resumes', async () => {
    const file = await bigFile();
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
    const had = await untilBytes(rx, BIG * 0.4);
    tx.kill('SIGKILL');
    const started = Date.now();
    await expectFailure(rx, 'PEER_LOST');
    expect(Date.now() - started).toBeLessThan(15_000);
    // Nothing looks complete: only the .part and its block state.
    expect(await listTree(out)).toEqual(['big.bin.part', 'big.bin.part.peerlane']);

    const done = await rerun(file, out);
    const resumed = done.files[0]?.resumedBytes ?? 0;
    expect(resumed).toBeGreaterThan(0);
    expect(had - resumed).toBeLessThanOrEqual(BLOCK_SIZE + RECEIVE_WINDOW);
    expect(await listTree(out)).toEqual(['big.bin']);
    expect(await sha256File(path.join(out, 'big.bin'))).toBe(await sha256File(file));
  });

  it('kill -9 the receiver mid-transfer: the sender gets PEER_LOST, and a rerun resumes', async () => {
    const file = await bigFile();
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
    await untilBytes(rx, BIG * 0.3);
    rx.kill('SIGKILL');
    await expectFailure(tx, 'PEER_LOST');
    expect((await listTree(out)).every((f) => f.endsWith('.part') || f.endsWith('.peerlane'))).toBe(true);

    const done = await rerun(file, out);
    expect(done.files[0]?.resumedBytes).toBeGreaterThan(0);
    expect(await sha256File(path.join(out, 'big.bin'))).toBe(await sha256File(file));
  });

  it('INTERRUPTED (130) on Ctrl-C mid-transfer, keeping resumable state', async () => {
    const file = await bigFile();
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
    await rx.waitFor('progress');
    rx.kill('SIGINT');
    await expectFailure(rx, 'INTERRUPTED', 130);
    expect(await listTree(out)).toEqual(['big.bin.part', 'big.bin.part.peerlane']);
    // The receiver's Ctrl-C is a lost peer for the sender, not its own interruption.
    await expectFailure(tx, 'PEER_LOST');
  });

  it('HASH_MISMATCH when the data does not match the announced hash', async () => {
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const peer = await rawSender(server, code);
    peer.link.send(
      encodeControl({ type: 'manifest', v: TRANSFER_PROTOCOL_VERSION, files: [{ name: 'a.txt', size: 5 }] }),
    );
    await peer.next('accept');
    peer.link.send(encodeControl({ type: 'file-start', file: 0, offset: 0 }));
    const data = Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('hello')]);
    peer.link.send(data);
    peer.link.send(encodeControl({ type: 'file-end', file: 0, sha256: '0'.repeat(64) }));
    await expectFailure(rx, 'HASH_MISMATCH');
    expect((await peer.next('error')).code).toBe('HASH_MISMATCH');
    expect(await listTree(out)).toEqual([]);
    peer.close();
  });
});
