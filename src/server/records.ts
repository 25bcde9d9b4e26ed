/**
 * What a shared store (Redis) gives back, checked before it is used: a waiter
 * (redis-state.ts) and a name entry (directory.ts). Never cast: whatever else
 * can write to the store is not this code, and a malformed record is a bug or
 * someone else's writes, so it fails with INTERNAL rather than blaming the
 * client whose message led to the read.
 */
import { PeerlaneError } from '../core/errors.js';
import { parseJsonObject } from '../core/json.js';
import type { NameEntry, Waiter } from './types.js';

function badRecord(what: string, field: string): PeerlaneError {
  return new PeerlaneError('INTERNAL', `the shared state holds a ${what} with a bad "${field}"`);
}

/** A waiter, JSON or parsed, as RedisState stores it under its nameplate. */
export function parseWaiter(raw: unknown): Waiter {
  const { instance, client, resume } = parseJsonObject(raw, 'INTERNAL', 'waiter record');
  if (typeof instance !== 'string' || instance === '') throw badRecord('waiter', 'instance');
  if (typeof client !== 'number' || !Number.isSafeInteger(client) || client < 0) {
    throw badRecord('waiter', 'client');
  }
  if (resume !== undefined && typeof resume !== 'string') throw badRecord('waiter', 'resume');
  return resume === undefined ? { instance, client } : { instance, client, resume };
}

/** A name entry, JSON or parsed, as RedisDirectory stores it under its name. */
export function parseNameEntry(raw: unknown): NameEntry {
  const { nameplate, resume, listed } = parseJsonObject(raw, 'INTERNAL', 'name record');
  if (typeof nameplate !== 'string' || nameplate === '') throw badRecord('name entry', 'nameplate');
  if (typeof resume !== 'string' || resume === '') throw badRecord('name entry', 'resume');
  if (typeof listed !== 'boolean') throw badRecord('name entry', 'listed');
  return { nameplate, resume, listed };
}
