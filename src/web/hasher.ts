/**
 * SHA-256 for the engines in a browser: @noble/hashes, incremental. WebCrypto's
 * digest() takes a whole buffer at once, which a file of any size is not
 * (see the README's figures for the rate of each in Chromium).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Hasher, HasherFactory } from '../core/transfer/ports.js';

export const nobleSha256: HasherFactory = (): Hasher => {
  const hash = sha256.create();
  return {
    update: (data) => {
      hash.update(data);
    },
    digestHex: () => bytesToHex(hash.digest()),
  };
};
