/**
 * Asking the person at the receiving end before anything is written: the
 * manifest is shown, and only "y" or "yes" accepts; Enter means no. Without a terminal to ask
 * in, nothing is accepted unless --yes said so up front.
 */
import readline from 'node:readline';
import { PeerlaneError, toPeerlaneError } from '../core/errors.js';
import { formatBytes } from '../core/format.js';
import { escapeChar } from './terminal-text.js';

/** Files listed one by one; the rest are counted. */
export const MAX_LISTED_FILES = 20;

export interface ConsentOptions {
  /** --yes: accept without asking. */
  yes: boolean;
  /** --allow-dotfiles: let --yes accept dotfiles too (the prompt asks about them regardless). */
  allowDotfiles?: boolean | undefined;
  /** --quiet: with --yes, list nothing (without --yes the list is shown: nobody should accept blind). */
  quiet?: boolean;
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
  /** Stop asking (the transfer failed meanwhile): rejects with the abort reason. */
  signal?: AbortSignal | undefined;
}

// Letters, marks, digits, punctuation, symbols and the plain space: a name made
// of these alone shows as itself. Anything else (other spaces, format characters,
// controls) is shown escaped inside quotes.
const PLAIN = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]+$/u;
const NOT_PLAIN = /[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/gu;

/** `name` as it may be printed to a terminal: as is, or quoted with anything unusual escaped. */
export function displayName(name: string): string {
  if (PLAIN.test(name) && name.trim() === name) return name;
  const escaped = name
    .replace(/["\\]/g, (c) => `\\${c}`)
    .replace(NOT_PLAIN, (c) => (c === ' ' ? c : escapeChar(c)));
  return `"${escaped}"`;
}

/**
 * The manifest as lines for a person: a summary, then up to MAX_LISTED_FILES
 * entries. A folder with anything in it is shown by its contents' paths, so
 * only empty folders get a line of their own.
 */
export function describeManifest(
  files: readonly { name: string; size: number | null; kind?: 'dir' }[],
): string[] {
  const total = files.reduce((sum, f) => sum + (f.size ?? 0), 0);
  const unknown = files.some((f) => f.size === null);
  const count = files.filter((f) => f.kind !== 'dir').length;
  const parents = new Set(files.map((f) => f.name.slice(0, Math.max(f.name.lastIndexOf('/'), 0))));
  const shown = files.filter((f) => f.kind !== 'dir' || !parents.has(f.name));
  const lines = [
    `The sender offers ${count} file${count === 1 ? '' : 's'}, ${unknown ? 'at least ' : ''}${formatBytes(total)}:`,
  ];
  for (const f of shown.slice(0, MAX_LISTED_FILES)) {
    const size = f.kind === 'dir' ? 'folder' : f.size === null ? 'stream' : formatBytes(f.size);
    lines.push(`  ${size.padStart(9)}  ${displayName(f.name)}${f.kind === 'dir' ? '/' : ''}`);
  }
  if (shown.length > MAX_LISTED_FILES) lines.push(`  … and ${shown.length - MAX_LISTED_FILES} more`);
  return lines;
}

/**
 * A name with a component that starts with a dot: `.env`, `.bashrc`,
 * `.git/config`, `.ssh/authorized_keys`. Such files configure the programs
 * that run in (or under) the folder they land in: a `.env` there would point
 * the next `peer send` elsewhere, a `.bashrc` in a home folder runs at login.
 */
export function isDotfile(name: string): boolean {
  return name.split('/').some((part) => part.startsWith('.'));
}

/** The warning shown above the question when the offer holds dotfiles; no lines when it holds none. */
export function dotfileWarning(files: readonly { name: string; kind?: 'dir' }[]): string[] {
  const dots = files.filter((f) => isDotfile(f.name));
  if (dots.length === 0) return [];
  const names = dots
    .slice(0, MAX_LISTED_FILES)
    .map((f) => `${displayName(f.name)}${f.kind === 'dir' ? '/' : ''}`);
  const more = dots.length > MAX_LISTED_FILES ? `, … and ${dots.length - MAX_LISTED_FILES} more` : '';
  return [
    `Warning: ${dots.length} of these ${dots.length === 1 ? 'is a dotfile' : 'are dotfiles'}, which configure programs run where they land: ${names.join(', ')}${more}`,
  ];
}

/**
 * Show the offered files on `output` and resolve if they are accepted: at once
 * with `yes`, else by the answer to `Accept? [y/N] ` when `input` and `output`
 * are both terminals, asked again until the answer is one (see answerOf).
 * Throws REFUSED on no, Enter or end of input, and CONSENT_REQUIRED when
 * there is no terminal to ask in and no `yes`. Dotfiles are listed with a
 * warning, and `yes` alone does not accept them (DOTFILES_REFUSED): that
 * takes `allowDotfiles` too, or a person's answer.
 */
export async function confirmManifest(
  files: readonly { name: string; size: number | null; kind?: 'dir' }[],
  opts: ConsentOptions,
): Promise<void> {
  const { input, output } = opts;
  const warning = dotfileWarning(files);
  // --quiet with --yes lists nothing; a refusal still says why, in its error.
  if (!(opts.yes && opts.quiet === true))
    output.write(`${[...describeManifest(files), ...warning].join('\n')}\n`);
  if (opts.yes) {
    if (warning.length > 0 && opts.allowDotfiles !== true) {
      throw new PeerlaneError('DOTFILES_REFUSED', '--yes does not accept dotfiles without --allow-dotfiles');
    }
    return;
  }
  if (input.isTTY !== true || output.isTTY !== true) {
    throw new PeerlaneError('CONSENT_REQUIRED', 'cannot ask whether to accept the files: no terminal');
  }
  if (!(await askYesNo('Accept? [y/N] ', opts))) throw new PeerlaneError('REFUSED', 'you declined the files');
}

/** Ask `question` until the answer is yes or no (see answerOf); true for yes. */
export async function askYesNo(
  question: string,
  opts: Pick<ConsentOptions, 'input' | 'output' | 'signal'>,
): Promise<boolean> {
  for (;;) {
    const answer = answerOf(await ask(opts.input, opts.output, question, opts.signal));
    if (answer !== undefined) return answer === 'yes';
    opts.output.write('Please answer y or n (Enter means n).\n');
  }
}

/**
 * y/yes accepts; n/no, Enter and the end of input refuse; anything else (a
 * typo, a stray paste) is no answer at all, and is asked again.
 */
function answerOf(line: string | undefined): 'yes' | 'no' | undefined {
  const word = line?.trim().toLowerCase();
  if (word === 'y' || word === 'yes') return 'yes';
  if (word === undefined || word === '' || word === 'n' || word === 'no') return 'no';
  return undefined;
}

/**
 * One line from `input`, or undefined at its end. Not in readline's terminal
 * mode: the terminal's own line editing suffices, and Ctrl-C stays a SIGINT.
 */
function ask(
  input: NodeJS.ReadableStream,
  output: NodeJS.WritableStream,
  question: string,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(toPeerlaneError(signal.reason, 'INTERRUPTED'));
      return;
    }
    const rl = readline.createInterface({ input, terminal: false });
    let line: string | undefined;
    let aborted: unknown;
    const onAbort = (): void => {
      aborted = signal?.reason ?? new PeerlaneError('INTERRUPTED', 'interrupted');
      rl.close();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    rl.once('line', (l) => {
      line = l;
      rl.close();
    });
    rl.once('close', () => {
      signal?.removeEventListener('abort', onAbort);
      if (aborted !== undefined) {
        // The question is left open on the terminal; end its line.
        output.write('\n');
        reject(toPeerlaneError(aborted, 'INTERRUPTED'));
      } else {
        resolve(line);
      }
    });
    output.write(question);
  });
}
