/** What a transfer survives, with real processes. */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { Harness } from '../../src/testing/harness.js';

let h: Harness;

beforeEach(() => {
  h = new Harness();
});
afterEach(() => h.cleanup());

describe('resilience', () => {
  it('an established transfer completes when the signal server is killed', async () => {
    const server = await h.signalProcess();
    const src = await h.tempDir();
    const out = await h.tempDir();
    const file = path.join(src, 'big.bin');
    await writeRandomFile(file, 200 * 1024 * 1024);
    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
    await rx.waitFor('progress');
    server.process.kill('SIGKILL');
    await server.process.exit();
    expect((await tx.exit()).code, tx.stderr).toBe(0);
    expect((await rx.exit()).code, rx.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'big.bin'))).toBe(await sha256File(file));
  });
});
