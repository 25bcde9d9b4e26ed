/**
 * The first step of every parser of received JSON, whatever the layer: the
 * value is a JSON object, or a PeerlaneError with the parser's own code. The
 * fields are then each parser's business (`parse(raw: unknown)`, never a cast).
 */
import type { ErrorCode } from './errors.js';
import { PeerlaneError } from './errors.js';

/**
 * `raw` as an object: a string is parsed as JSON first, anything else is taken
 * as already parsed. `what` names it in the message ("message is not valid JSON").
 * The code defaults to BAD_MESSAGE, what a peer or a client sending nonsense gets.
 */
export function parseJsonObject(
  raw: unknown,
  code: ErrorCode = 'BAD_MESSAGE',
  what = 'message',
): Record<string, unknown> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new PeerlaneError(code, `${what} is not valid JSON`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PeerlaneError(code, `${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}
