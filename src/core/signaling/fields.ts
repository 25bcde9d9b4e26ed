/**
 * Validation shared by the signaling layer's two parsers, messages between a
 * client and the server (protocol.ts) and payloads between the peers
 * (rtc-signal.ts): strings bounded in bytes as on the wire. Every failure is
 * BAD_MESSAGE; that the value is a JSON object at all is core/json.ts.
 */
import { PeerlaneError } from '../errors.js';

export function bad(message: string): PeerlaneError {
  return new PeerlaneError('BAD_MESSAGE', message);
}

export function str(obj: Record<string, unknown>, key: string, max: number): string {
  const value = obj[key];
  if (typeof value !== 'string') throw bad(`field "${key}" must be a string`);
  // Limits are in bytes, as on the wire: a character can take up to four.
  if (value.length > max || utf8Length(value) > max) throw bad(`field "${key}" is too long`);
  return value;
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
