/**
 * A browser's storage failure as the CLI's error codes, whichever way the page
 * writes (the OPFS worker, or writable streams into a picked folder): a full
 * quota or disk is DISK_FULL, which the sender is told as well; anything else
 * is OUT_NOT_WRITABLE. The DOMException's name stays in the message.
 */
import { PeerlaneError } from '../core/errors.js';

export function storageError(name: string, message: string, target: string): PeerlaneError {
  const text = `${target}: ${name}: ${message}`;
  return name === 'QuotaExceededError'
    ? new PeerlaneError('DISK_FULL', text, {
        hint: 'the browser has no room left for this page: free some space, or pick a folder on a disk that has it',
      })
    : new PeerlaneError('OUT_NOT_WRITABLE', text);
}

/** `err` from a storage call, as storageError; a PeerlaneError as it is. */
export function asStorageError(err: unknown, target: string): PeerlaneError {
  if (err instanceof PeerlaneError) return err;
  const { name, message } = err instanceof Error ? err : new Error(String(err));
  return storageError(name, message, target);
}
