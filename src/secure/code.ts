/**
 * Codes: `<nameplate>-<word>-<word>`, e.g. `42-orbit-lemon`.
 *
 * The nameplate is allocated by the signal server and only routes. The words
 * are the PAKE password: drawn here from the CSPRNG, they never reach the
 * server. Each word is one of the 2048 of the BIP-39 English list (11 bits);
 * two words give 22 bits, and the server allows one guess per nameplate.
 */
import { randomInt } from 'node:crypto';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { PeerlaneError } from '../errors.js';
import { isValidNameplate } from '../signaling/protocol.js';

export const DEFAULT_CODE_WORDS = 2;
export const MIN_CODE_WORDS = 2;
/** 8 words is 88 bits: beyond that a code is tedious and no safer in practice. */
export const MAX_CODE_WORDS = 8;

const WORDS = new Set(wordlist);

export interface Code {
  nameplate: string;
  /** The secret words joined by '-'; the PAKE password. */
  secret: string;
}

export function generateSecret(words: number = DEFAULT_CODE_WORDS): string {
  if (!Number.isInteger(words) || words < MIN_CODE_WORDS || words > MAX_CODE_WORDS) {
    throw new PeerlaneError('BAD_CONFIG', `--code-words must be from ${MIN_CODE_WORDS} to ${MAX_CODE_WORDS}`);
  }
  return Array.from({ length: words }, () => wordlist[randomInt(wordlist.length)]).join('-');
}

export function formatCode(code: Code): string {
  return `${code.nameplate}-${code.secret}`;
}

/** Parse what a person typed. Throws BAD_CODE, naming a misspelt word, before anything is sent. */
export function parseCode(text: string): Code {
  const parts = text
    .trim()
    .toLowerCase()
    .split(/[-\s]+/);
  const [nameplate, ...words] = parts;
  if (nameplate === undefined || !isValidNameplate(nameplate) || words.length < MIN_CODE_WORDS) {
    throw new PeerlaneError('BAD_CODE', 'a code looks like 42-orbit-lemon: a number, then words');
  }
  if (words.length > MAX_CODE_WORDS) throw new PeerlaneError('BAD_CODE', 'the code has too many words');
  const unknown = words.find((w) => !WORDS.has(w));
  if (unknown !== undefined) {
    throw new PeerlaneError('BAD_CODE', `"${unknown.slice(0, 20)}" is not a code word; check the spelling`);
  }
  return { nameplate, secret: words.join('-') };
}
