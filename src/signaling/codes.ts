import { randomInt } from 'node:crypto';

/**
 * Lower-case letters and digits without the look-alikes i, l, o and u, so a
 * code read aloud or copied by hand survives: 32 symbols, 5 bits each.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const GROUPS = 3;
const GROUP_LENGTH = 4;

/** A fresh code such as `7hk2-x9qm-a4rt`: 60 bits from the CSPRNG, far beyond online guessing. */
export function generateCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < GROUPS; g++) {
    let group = '';
    for (let i = 0; i < GROUP_LENGTH; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join('-');
}
