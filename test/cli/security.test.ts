/** The PAKE and consent rules as a user meets them: real processes on loopback. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';

const { h, server } = useSignalServer({ beforeEach, afterEach });

async function source(): Promise<string> {
  const file = path.join(await h.tempDir(), 'doc.bin');
  await writeRandomFile(file, 100_000);
  return file;
}

async function failsWith(proc: EventProcess, code: string): Promise<void> {
  const exit = await proc.exit();
  expect(proc.error?.code, proc.stderr).toBe(code);
  expect(exit.code).toBe(1);
}

describe('codes and consent', () => {
  it('a wrong code: both sides exit BAD_CODE within seconds and nothing is written', async () => {
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const nameplate = code.split('-')[0] ?? '';
    const started = Date.now();
    const tx = h.peer(['send', await source(), '--to', `${nameplate}-zoo-zoo`, ...server.peerArgs]);
    await Promise.all([failsWith(tx, 'BAD_CODE'), failsWith(rx, 'BAD_CODE')]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await listTree(out)).toEqual([]);
  });

  it('a misspelt word fails before the single guess is spent', async () => {
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const file = await source();
    await failsWith(h.peer(['send', file, '--to', `${code}x`, ...server.peerArgs]), 'BAD_CODE');
    const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code).toBe(0);
  });

  it('takes the code from PEER_CODE, keeping it off the command line', async () => {
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', '--code-words', '4', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    expect(code.split('-')).toHaveLength(5);
    const file = await source();
    const tx = h.peer(['send', file, ...server.peerArgs], { env: { PEER_CODE: code } });
    expect(tx.child.spawnargs.join(' ')).not.toContain(code);
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code).toBe(0);
    expect(await sha256File(path.join(out, 'doc.bin'))).toBe(await sha256File(file));
  });

  it('without a code anywhere, send goes first: it prints a code and waits', async () => {
    const tx = h.peer(['send', await source(), ...server.peerArgs], { env: { PEER_CODE: '' } });
    const { code } = await tx.waitFor('ready');
    expect(code).toMatch(/^[1-9][0-9]*-[a-z]+-[a-z]+$/);
    expect(tx.error).toBeUndefined();
    tx.kill('SIGKILL');
  });

  it('with no terminal and no --yes the receiver refuses: CONSENT_REQUIRED, and the sender hears REFUSED', async () => {
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', await source(), '--to', code, ...server.peerArgs]);
    await Promise.all([failsWith(rx, 'CONSENT_REQUIRED'), failsWith(tx, 'REFUSED')]);
    expect(rx.stderr).toContain('doc.bin');
    expect(await listTree(out)).toEqual([]);
  });

  it('--verify prints the same words on both sides', async () => {
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', '--verify', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', await source(), '--to', code, '--show-words', ...server.peerArgs]);
    await Promise.all([tx.exit(), rx.exit()]);
    const words = (p: EventProcess) => {
      const e = p.events.find((x) => x.event === 'connected');
      return e && 'verify' in e ? e.verify : undefined;
    };
    expect(words(rx)).toMatch(/^[a-z]+ [a-z]+ [a-z]+ [a-z]+$/);
    expect(words(tx)).toBe(words(rx));
    await fs.access(path.join(out, 'doc.bin'));
  });
});
