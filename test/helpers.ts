/** Assertions shared by the test files (vitest-only, so not in src/testing). */
import { expect } from 'vitest';
import { PeerlaneError } from '../src/errors.js';

/** The code of the PeerlaneError thrown by `fn`; fails the test if it returns or throws anything else. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PeerlaneError);
    return (err as PeerlaneError).code;
  }
  throw new Error('expected a PeerlaneError, but nothing was thrown');
}

/** Await `step`, or fail naming `what` after `ms` (default 5 s). */
export async function withTimeout<T>(step: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      step,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
