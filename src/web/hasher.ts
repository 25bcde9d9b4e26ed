/**
 * SHA-256 for the engines in a browser, incremental, as a file of any size
 * needs: WebCrypto's digest() takes one whole buffer. Measured in Chromium on
 * 64 MiB (`npm run bench:browser`): @noble/hashes (JavaScript) hashes about
 * 80 MB/s, which capped a transfer at 20-25 MB/s since the page hashes every
 * byte it sends or receives; hash-wasm's WebAssembly SHA-256 is several times
 * faster (figures in the README).
 *
 * hash-wasm makes its hashers asynchronously and the engines ask for one
 * synchronously (a HasherFactory), so a small pool is filled at start and
 * refilled as hashers are taken; a hasher goes back to the pool once it has
 * given its digest. Where WebAssembly is not allowed (a policy without
 * 'wasm-unsafe-eval', an old browser) or the pool is momentarily empty, the
 * same factory hands out @noble/hashes: slower, never wrong.
 */
import { sha256 as nobleSha } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { IHasher } from 'hash-wasm';
import { createSHA256 } from 'hash-wasm';
import type { Hasher, HasherFactory } from '../core/transfer/ports.js';

/** Two: the file in progress and the next one, whose hasher is asked for before the last digest. */
const POOL_SIZE = 2;

const pool: IHasher[] = [];
let filling: Promise<void> | undefined;
let wasmUnavailable = false;

/** Fill the pool; resolves when it is full or WebAssembly turned out to be unavailable. */
export function warmSha256(): Promise<void> {
  if (wasmUnavailable) return Promise.resolve();
  filling ??= (async () => {
    try {
      while (pool.length < POOL_SIZE) pool.push(await createSHA256());
    } catch {
      wasmUnavailable = true;
    } finally {
      filling = undefined;
    }
  })();
  return filling;
}

function noble(): Hasher {
  const hash = nobleSha.create();
  return {
    update: (data) => {
      hash.update(data);
    },
    digestHex: () => bytesToHex(hash.digest()),
  };
}

export const browserSha256: HasherFactory = (): Hasher => {
  const wasm = pool.pop();
  void warmSha256();
  if (wasm === undefined) return noble();
  wasm.init();
  return {
    update: (data) => {
      wasm.update(data);
    },
    digestHex: () => {
      const hex = wasm.digest('hex');
      if (pool.length < POOL_SIZE) pool.push(wasm);
      return hex;
    },
  };
};

/** Which implementation a new hasher would be now: for the page's diagnostics and the tests. */
export function sha256Kind(): 'wasm' | 'noble' {
  return pool.length > 0 ? 'wasm' : 'noble';
}
