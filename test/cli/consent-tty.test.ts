/**
 * The consent prompt as a person meets it: the receiver runs in a real
 * pseudo-terminal (util-linux `script`), sees the manifest, and answers.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listTree } from '../../src/testing/files.js';
import { useSignalServer } from '../../src/testing/hooks.js';
import type { TerminalPeer } from '../../src/testing/terminal.js';
import { peerInTerminal } from '../../src/testing/terminal.js';

const { h, server } = useSignalServer({ beforeEach, afterEach });

/** `peer receive` under a pty; the test reads its code and answers the prompt. */
function receiverInTerminal(out: string): TerminalPeer {
  return peerInTerminal(['receive', '--out', out, ...server.peerArgs]);
}

describe('consent in a terminal', () => {
  it.each([
    ['y', 0],
    ['n', 1],
  ])('answering %s at "Accept? [y/N]"', async (answer, status) => {
    const src = await h.tempDir();
    const out = await h.tempDir();
    const file = path.join(src, 'photo.jpg');
    await fs.writeFile(file, 'not really a photo');
    const rx = receiverInTerminal(out);
    try {
      const [code] = await rx.until(/[1-9][0-9]*-[a-z]+-[a-z]+/);
      const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
      await rx.until(/Accept\? \[y\/N\]/);
      expect(rx.screen()).toContain('photo.jpg');
      rx.answer(answer);
      expect(await rx.exit).toBe(status);
      const txExit = await tx.exit();
      if (status === 0) {
        expect(txExit.code).toBe(0);
        expect(await listTree(out)).toEqual(['photo.jpg']);
        // The bar was drawn in the terminal and reached 100%.
        expect(rx.screen()).toContain('100%');
      } else {
        expect(tx.error?.code).toBe('REFUSED');
        expect(rx.screen()).toContain('REFUSED');
        expect(await listTree(out)).toEqual([]);
      }
    } finally {
      rx.kill();
    }
  });
});
