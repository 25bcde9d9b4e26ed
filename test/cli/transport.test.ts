/**
 * `peer --transport` from the command line: a bad value is refused before
 * anything happens, and the `connected` event says which link carried the
 * transfer.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';

const { h, server } = useSignalServer({ beforeEach, afterEach });

async function fileToSend(): Promise<string> {
  const file = path.join(await h.tempDir('peerlane-src-'), 'notes.bin');
  await writeRandomFile(file, 200_000);
  return file;
}

/** BAD_CONFIG's exit status, its code in the `error` event, and one line on stderr naming the flag. */
async function expectBadTransport(proc: EventProcess): Promise<void> {
  const exit = await proc.exit();
  expect(exit.code).toBe(EXIT.USAGE);
  expect(proc.error?.code, proc.stderr).toBe('BAD_CONFIG');
  expect(proc.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(proc.stderr).toMatch(
    /^peer: BAD_CONFIG: --transport \/ PEER_TRANSPORT must be one of auto, tcp, webrtc, relay, not "bogus"\. Next: .+\.\n$/,
  );
}

describe('peer --transport', () => {
  it('refuses a value it does not know, from the flag or the environment, before waiting on anyone', async () => {
    const file = await fileToSend();
    await expectBadTransport(h.peer(['send', file, '--transport', 'bogus', ...server.peerArgs]));
    const out = await h.tempDir();
    await expectBadTransport(
      h.peer(['receive', '--out', out, ...server.peerArgs], { env: { PEER_TRANSPORT: 'bogus' } }),
    );
    expect(await listTree(out)).toEqual([]);
    expect(server.server.stats).toEqual({ clients: 0, waiting: 0 });
  });

  it.each([
    ['auto', 'auto', 'tcp'],
    ['webrtc', 'auto', 'webrtc'],
    ['tcp', 'tcp', 'tcp'],
  ] as const)('--transport %s / %s: the connected event says %s on both sides', async (tx, rx, expected) => {
    const file = await fileToSend();
    const out = await h.tempDir();
    const receiver = h.peer(['receive', '--out', out, '--yes', '--transport', rx, ...server.peerArgs]);
    const { code } = await receiver.waitFor('ready');
    const sender = h.peer(['send', file, '--to', code, '--transport', tx, ...server.peerArgs]);
    expect((await sender.exit()).code, sender.stderr).toBe(0);
    expect((await receiver.exit()).code, receiver.stderr).toBe(0);
    expect((await sender.waitFor('connected')).transport).toBe(expected);
    expect((await receiver.waitFor('connected')).transport).toBe(expected);
    expect(await sha256File(path.join(out, 'notes.bin'))).toBe(await sha256File(file));
    expect((await fs.stat(path.join(out, 'notes.bin'))).size).toBe(200_000);
  });
});
