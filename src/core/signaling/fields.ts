/**
 * Validation shared by the signaling layer's two parsers, messages between a
 * client and the server (protocol.ts) and payloads between the peers
 * (rtc-signal.ts): a JSON object, and strings bounded in bytes as on the wire.
 * Every failure is BAD_MESSAGE.
 */
import { utf8Length } from '../bytes.js';
import { PeerlaneError } from '../errors.js';

export function bad(message: string): PeerlaneError {
  return new PeerlaneError('BAD_MESSAGE', message);
}

export function parseJsonObject(raw: unknown): Record<string, unknown> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw bad('message is not valid JSON');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad('message is not a JSON object');
  }
  return value as Record<string, unknown>;
}

export function str(obj: Record<string, unknown>, key: string, max: number): string {
  const value = obj[key];
  if (typeof value !== 'string') throw bad(`field "${key}" must be a string`);
  // Limits are in bytes, as on the wire: a character can take up to four.
  if (value.length > max || utf8Length(value) > max) throw bad(`field "${key}" is too long`);
  return value;
}
