/**
 * SHA-256 for the engines in Node: node:crypto's, about 3× faster here than a
 * JavaScript one, and every byte of file data goes through it. A browser
 * injects its own (ports.ts).
 */
import { createHash } from 'node:crypto';
import type { Hasher, HasherFactory } from '../core/transfer/ports.js';

export const nodeSha256: HasherFactory = (): Hasher => {
  const hash = createHash('sha256');
  return {
    update: (data) => {
      hash.update(data);
    },
    digestHex: () => hash.digest('hex'),
  };
};
