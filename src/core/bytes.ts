/**
 * Byte helpers for the browser-safe core, where Buffer (Node only) did the
 * work before: base64 as the messages carry it (@noble's utils have none),
 * and the UTF-8 length the wire limits of both protocol layers count.
 */
import { PeerlaneError } from './errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Both alphabets decode: base64url's `-` and `_` stand for `+` and `/`. */
const SEXTET = new Map<string, number>([...ALPHABET].map((ch, i) => [ch, i]));
SEXTET.set('-', 62);
SEXTET.set('_', 63);

/** Standard base64 with padding. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let k = 0; k < 4; k++) out += k < chars ? ALPHABET[(n >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

/**
 * base64 or base64url, padded or not; bits past the last whole byte are
 * dropped, as Buffer does. Callers check the text's form first (the parsers'
 * patterns); anything else here is BAD_MESSAGE.
 */
export function fromBase64(text: string): Uint8Array {
  const body = text.replace(/={1,2}$/, '');
  const out = new Uint8Array(Math.floor((body.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let at = 0;
  for (const ch of body) {
    const sextet = SEXTET.get(ch);
    if (sextet === undefined) throw new PeerlaneError('BAD_MESSAGE', 'malformed base64');
    acc = ((acc << 6) | sextet) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/**
 * Bytes `text` takes in UTF-8, counted without encoding it (and without
 * Node's Buffer, so that the core runs in a browser too). A lone surrogate
 * counts 3, as its replacement character would.
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4; // a surrogate pair: one code point past the BMP
      i++;
    } else bytes += 3;
  }
  return bytes;
}
