/**
 * Validation shared by the signaling layer's two parsers, messages between a
 * client and the server (protocol.ts) and payloads between the peers
 * (rtc-signal.ts): strings bounded in bytes as on the wire. Every failure is
 * BAD_MESSAGE; that the value is a JSON object at all is core/json.ts.
 */
import { utf8Length } from '../bytes.js';
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
