/**
 * Codes: `<nameplate>-<word>-<word>`, e.g. `42-orbit-lemon`.
 *
 * The nameplate is allocated by the signal server and only routes. The words
 * are the PAKE password: drawn here from the CSPRNG, they never reach the
 * server. Each word is one of the 2048 of the BIP-39 English list (11 bits);
 * two words give 22 bits, and the server allows one guess per nameplate.
 *
 * A receiver started with `--name laptop` can also be reached as
 * `laptop-orbit-lemon`: the name stands where the nameplate stood, and the
 * words are the same password, one guess as ever. Names never hold a `-` and
 * start with a letter (protocol.ts), so a code splits one way only.
 *
 * Such a receiver draws DEFAULT_NAMED_CODE_WORDS unless told otherwise: it is
 * made to be found (`peer list`) and may run in a loop, and every run can be
 * ended by one guess, by a stranger or by a hostile server. At ten runs a
 * second, 44 bits last over 50,000 years; 22 bits would last five days.
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { PeerlaneError } from '../errors.js';
import { isValidNameplate, isValidPeerName } from '../signaling/protocol.js';

/** A code that fails here was never tried: say so, not that its one try is spent. */
const RETYPE = {
  hint: 'type the code again as the other side shows it (e.g. 42-orbit-lemon); no try was spent',
};

export const DEFAULT_CODE_WORDS = 2;
/** For `peer receive --name` (see above): 4 words, 44 bits. */
export const DEFAULT_NAMED_CODE_WORDS = 4;
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
  return Array.from({ length: words }, () => wordlist[randomBelow(wordlist.length)]).join('-');
}

const TWO_TO_32 = 2 ** 32;

/**
 * A uniform integer in [0, n) for 1 <= n <= 2^32, from the CSPRNG
 * (crypto.getRandomValues, in Node and in a browser). A 32-bit draw at or
 * above the largest multiple of n is drawn again: taking it modulo n would
 * make the first words of the list likelier than the rest.
 */
export function randomBelow(n: number, random: (bytes: number) => Uint8Array = randomBytes): number {
  const limit = TWO_TO_32 - (TWO_TO_32 % n);
  for (;;) {
    const bytes = random(4);
    const draw = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
    if (draw < limit) return draw % n;
  }
}

export function formatCode(code: Code): string {
  return `${code.nameplate}-${code.secret}`;
}

/** A code that names the receiver (peer receive --name) instead of giving its nameplate. */
export interface NamedCode {
  name: string;
  secret: string;
}

function splitCode(text: string): string[] {
  return text
    .trim()
    .toLowerCase()
    .split(/[-\s]+/);
}

/** Parse what a person typed. Throws BAD_CODE, naming a misspelt word, before anything is sent. */
export function parseCode(text: string): Code {
  const [nameplate, ...words] = splitCode(text);
  if (nameplate === undefined || !isValidNameplate(nameplate) || words.length < MIN_CODE_WORDS) {
    throw new PeerlaneError('BAD_CODE', 'a code looks like 42-orbit-lemon: a number, then words', RETYPE);
  }
  return { nameplate, secret: checkWords(words) };
}

/** What `peer send --to` takes: a code, or the same with the receiver's name for the number. */
export function parseSendCode(text: string): Code | NamedCode {
  const [first, ...words] = splitCode(text);
  if (first === undefined || !isValidPeerName(first)) return parseCode(text);
  if (words.length < MIN_CODE_WORDS) {
    throw new PeerlaneError(
      'BAD_CODE',
      `give the words ${first} shows too, e.g. ${first}-orbit-lemon`,
      RETYPE,
    );
  }
  return { name: first, secret: checkWords(words) };
}

/** A nameplate or a name with no words: `peer send --to laptop` then asks for them. */
export function isBareRoute(text: string): boolean {
  const [first, ...rest] = splitCode(text);
  return rest.length === 0 && first !== undefined && (isValidNameplate(first) || isValidPeerName(first));
}

/** The secret words, each checked against the list. */
function checkWords(words: string[]): string {
  if (words.length > MAX_CODE_WORDS)
    throw new PeerlaneError('BAD_CODE', 'the code has too many words', RETYPE);
  const unknown = words.find((w) => !WORDS.has(w));
  if (unknown !== undefined) {
    throw new PeerlaneError(
      'BAD_CODE',
      `"${unknown.slice(0, 20)}" is not a code word; check the spelling`,
      RETYPE,
    );
  }
  return words.join('-');
}
