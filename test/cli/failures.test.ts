/**
 * Every failure the CLI promises to handle: a one-line message, a stable code
 * in the `error` event, a non-zero exit, and no complete-looking file left.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listTree, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess, SignalHandle } from '../../src/testing/harness.js';
import { Harness, peerArgsFor } from '../../src/testing/harness.js';
import { rawSender, silentJoiner, silentRegistrant } from '../../src/testing/raw-peer.js';
import { encodeControl, TRANSFER_PROTOCOL_VERSION } from '../../src/transfer/protocol.js';

let h: Harness;
let server: SignalHandle;

beforeEach(async () => {
  h = new Harness();
  server = await h.signalServer();
});
afterEach(() => h.cleanup());

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

async function bigFile(size = 300 * 1024 * 1024): Promise<string> {
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
    await expectFailure(h.peer(['send', 'x', ...server.peerArgs]), 'USAGE', 2);
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

  it('PEER_LOST when the sender is killed mid-transfer, and no file is left', async () => {
    const file = await bigFile();
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
    await rx.waitFor('progress');
    tx.kill('SIGKILL');
    const started = Date.now();
    await expectFailure(rx, 'PEER_LOST');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await listTree(out)).toEqual([]);
  });

  it('PEER_LOST on the sender when the receiver is killed mid-transfer', async () => {
    const file = await bigFile();
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
    await tx.waitFor('progress');
    rx.kill('SIGKILL');
    await expectFailure(tx, 'PEER_LOST');
    // Only a .part can remain: nothing that looks complete.
    expect((await listTree(out)).every((f) => f.endsWith('.part'))).toBe(true);
  });

  it('INTERRUPTED (130) on Ctrl-C mid-transfer, with the .part removed', async () => {
    const file = await bigFile();
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
    await rx.waitFor('progress');
    rx.kill('SIGINT');
    await expectFailure(rx, 'INTERRUPTED', 130);
    expect(await listTree(out)).toEqual([]);
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
    const data = Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('hello')]);
    peer.link.send(data);
    peer.link.send(encodeControl({ type: 'file-end', file: 0, sha256: '0'.repeat(64) }));
    await expectFailure(rx, 'HASH_MISMATCH');
    expect((await peer.next('error')).code).toBe('HASH_MISMATCH');
    expect(await listTree(out)).toEqual([]);
    peer.close();
  });
});
