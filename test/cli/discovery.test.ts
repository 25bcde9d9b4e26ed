/**
 * `peer list` and `peer send --to <name>` as a person runs them: a signal
 * server process, receivers that opt in or not, and a sender that only knows
 * a listed name and the words its receiver shows.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess, SignalHandle } from '../../src/testing/harness.js';
import { Harness } from '../../src/testing/harness.js';
import { peerInTerminal } from '../../src/testing/terminal.js';

const h = new Harness();
let server: SignalHandle;

beforeAll(async () => {
  server = await h.signalProcess();
});
afterAll(() => h.cleanup());

/** `peer list` without --json: its stdout and exit status. */
async function listText(): Promise<{ stdout: string; stderr: string; code: number | null }> {
  const proc = h.spawnScript('peer', ['list', ...server.peerArgs]);
  let stdout = '';
  proc.child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const { code } = await proc.exit();
  return { stdout, stderr: proc.stderr, code };
}

async function exitOf(proc: EventProcess): Promise<number | null> {
  return (await proc.exit()).code;
}

describe('peer list and --to <name>', () => {
  it('lists only opted-in receivers, and a sender reaches one by name and words', async () => {
    const src = await h.tempDir();
    const out = await h.tempDir();
    const file = path.join(src, 'for-the-laptop.bin');
    await writeRandomFile(file, 300_000);

    const plain = h.peer(['receive', '--out', await h.tempDir(), ...server.peerArgs]);
    const unlisted = h.peer(['receive', '--out', await h.tempDir(), '--name', 'desk', ...server.peerArgs]);
    const laptop = h.peer([
      'receive',
      '--out',
      out,
      '--yes',
      '--name',
      'laptop',
      '--listed',
      ...server.peerArgs,
    ]);
    await Promise.all([plain.waitFor('ready'), unlisted.waitFor('ready')]);
    const ready = await laptop.waitFor('ready');
    expect(ready.name).toBe('laptop');
    // A receiver with a name draws four words by default (secure/code.ts).
    expect(ready.code).toMatch(/^laptop(-[a-z]+){4}$/);

    const lister = h.peer(['list', ...server.peerArgs]);
    expect(await lister.waitFor('peers')).toEqual({ event: 'peers', peers: [{ name: 'laptop' }] });
    expect(await exitOf(lister)).toBe(0);
    expect(await listText()).toMatchObject({ stdout: 'laptop\n', code: 0 });

    // Without a terminal, a name alone cannot be asked about: a usage error, and the name survives.
    const bare = h.peer(['send', file, '--to', 'laptop', ...server.peerArgs]);
    expect(await exitOf(bare)).toBe(2);
    expect(bare.error?.code).toBe('USAGE');

    const tx = h.peer(['send', file, ...server.peerArgs], { env: { PEER_CODE: ready.code } });
    expect(await exitOf(tx), tx.stderr).toBe(0);
    expect(await exitOf(laptop), laptop.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'for-the-laptop.bin'))).toBe(await sha256File(file));

    const after = await listText();
    expect(after).toMatchObject({ stdout: '', code: 0 });
    expect(after.stderr).toContain('No receivers are listed');
  }, 30_000);

  it('a taken name fails with NAME_TAKEN, bad --name and --listed alone are usage errors', async () => {
    const first = h.peer(['receive', '--out', await h.tempDir(), '--name', 'twin', ...server.peerArgs]);
    await first.waitFor('ready');
    const second = h.peer(['receive', '--out', await h.tempDir(), '--name', 'twin', ...server.peerArgs]);
    expect(await exitOf(second)).toBe(1);
    expect(second.error?.code).toBe('NAME_TAKEN');

    const badName = h.peer(['receive', '--name', 'My-Laptop', ...server.peerArgs]);
    expect(await exitOf(badName)).toBe(2);
    expect(badName.error?.code).toBe('BAD_CONFIG');
    const listedAlone = h.peer(['receive', '--listed', ...server.peerArgs]);
    expect(await exitOf(listedAlone)).toBe(2);
    expect(listedAlone.error?.code).toBe('USAGE');
    // Nothing was created for them to print a code for.
    expect(badName.events.some((e) => e.event === 'ready')).toBe(false);
    first.kill();
  });

  it('wrong words for a name burn it on the receiver, as with a number', async () => {
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', '--name', 'burnt', '--listed', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const wrong = code.endsWith('-abandon-ability') ? 'burnt-abandon-able' : 'burnt-abandon-ability';
    const src = await h.tempDir();
    const file = path.join(src, 'x.txt');
    await fs.writeFile(file, 'x');
    const tx = h.peer(['send', file, '--to', wrong, ...server.peerArgs]);
    expect(await exitOf(tx)).toBe(1);
    expect(tx.error?.code).toBe('BAD_CODE');
    expect(await exitOf(rx)).toBe(1);
    expect(rx.error?.code).toBe('BAD_CODE');
    const retry = h.peer(['send', file, '--to', code, ...server.peerArgs]);
    expect(await exitOf(retry)).toBe(1);
    expect(retry.error?.code).toBe('PEER_NOT_FOUND');
    expect((await listText()).stdout).not.toContain('burnt');
  }, 30_000);

  it('in a terminal, --to <name> asks for the words the receiver shows', async () => {
    const out = await h.tempDir();
    const rx = h.peer(['receive', '--out', out, '--yes', '--name', 'asked', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const src = await h.tempDir();
    const file = path.join(src, 'typed.txt');
    await fs.writeFile(file, 'words typed by a person');
    const tx = peerInTerminal(['send', file, '--to', 'asked', ...server.peerArgs]);
    try {
      await tx.until(/Words shown by asked: /);
      tx.answer(code.replace(/^asked-/, '').replace(/-/g, ' '));
      expect(await tx.exit, tx.screen()).toBe(0);
      expect(await exitOf(rx), rx.stderr).toBe(0);
      expect(await fs.readFile(path.join(out, 'typed.txt'), 'utf8')).toBe('words typed by a person');
    } finally {
      tx.kill();
    }
  }, 30_000);
});
