/**
 * The sealed signaling channel's AES-256-GCM from node:crypto, for the CLI:
 * the same boxes as the core's @noble/ciphers default, without the cold
 * start that default pays on the way to the first byte (core/secure/channel.ts).
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { Aead } from '../core/secure/channel.js';

const GCM_TAG_BYTES = 16;

export const nodeAesGcm: Aead = {
  seal(key, nonce, plain) {
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    return Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  },
  open(key, nonce, box) {
    if (box.length < GCM_TAG_BYTES) throw new Error('a box shorter than its tag');
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_BYTES });
    decipher.setAuthTag(box.subarray(box.length - GCM_TAG_BYTES));
    return Buffer.concat([decipher.update(box.subarray(0, box.length - GCM_TAG_BYTES)), decipher.final()]);
  },
};
