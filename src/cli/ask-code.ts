/**
 * What `peer` asks the person for, or takes from the command line in their
 * place: the other side's code, the sender's --verify yes, and the name a
 * stream gets.
 */
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { PeerlaneError } from '../core/errors.js';
import { isBareRoute } from '../core/secure/code.js';
import { checkFileName } from '../transfer/safe-names.js';
import { askYesNo } from './consent.js';
import { askLine } from './prompt.js';

export interface CodeSource {
  /** How the code was asked for, for messages: `--to`, `peer receive`. */
  flag: string;
  /** Standard input carries the data (`peer send -`), so it cannot carry the code. */
  stdinIsData: boolean;
  /** PEER_CODE, where it applies: not to a receiver that waits under --name (it prints its own code). */
  envCode: string | undefined;
}

/**
 * The other side's code: `given` (--to, or receive's argument), else
 * PEER_CODE; `-` asks for it in the terminal (Tab completes the words) or,
 * without one, reads it from the first line of stdin. All but the first keep
 * it out of the process list, where any local user could read it. None of
 * them: undefined, and this side goes first, printing a code. A name (or
 * nameplate) alone, `--to laptop`, asks for the words the receiver shows.
 */
export async function codeFrom(given: string | undefined, source: CodeSource): Promise<string | undefined> {
  const code =
    given === '-'
      ? await askCode('Code: ', `${source.flag} - asks for the code`, source)
      : given || source.envCode || undefined;
  if (code === undefined || !isBareRoute(code)) return code;
  const words = await askCode(
    `Words shown by ${code.trim()}: `,
    `${source.flag} ${code.trim()} needs the words it shows`,
    source,
  );
  return `${code.trim()}-${words.trim()}`;
}

async function askCode(prompt: string, what: string, source: CodeSource): Promise<string> {
  const streams = { input: process.stdin, output: process.stderr };
  if (process.stdin.isTTY && process.stderr.isTTY) return askLine(prompt, streams, { completions: wordlist });
  if (source.stdinIsData) throw new PeerlaneError('USAGE', `${what}, and there is no terminal to ask in`);
  const line = await askLine('', streams);
  if (line === '') throw new PeerlaneError('USAGE', `${what}: no terminal to ask in, and stdin held no line`);
  return line;
}

/** --verify on the sender: nothing leaves until the person says the words match. */
export async function confirmWords(words: string, signal: AbortSignal): Promise<void> {
  const question = `Does the other side show "${words}"? [y/N] `;
  if (!(await askYesNo(question, { input: process.stdin, output: process.stderr, signal }))) {
    throw new PeerlaneError('NOT_VERIFIED', 'the verification words were not confirmed; nothing was sent');
  }
}

/** `--name-as`: a plain file name, and only for a stream. */
export function streamName(name: string | undefined, paths: readonly string[]): string | undefined {
  if (name === undefined) return undefined;
  if (!paths.includes('-'))
    throw new PeerlaneError('USAGE', '--name-as names the stream from -; there is none');
  try {
    return checkFileName(name);
  } catch (err) {
    throw new PeerlaneError('USAGE', `--name-as: ${(err as Error).message}`);
  }
}
