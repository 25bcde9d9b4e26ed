/**
 * `peer`'s command line before yargs sees it: the short forms, and the bare
 * `-` that yargs would drop.
 */

/** yargs drops a bare `-` (stdin, or `--to -`): it travels under this stand-in instead. */
const DASH = '\u0000-';
/** What a sender that went first prints: `peer 42-orbit-lemon` is short for `peer receive 42-orbit-lemon`. */
const SENDER_CODE = /^[0-9]+(?:-[a-zA-Z]+)+$/;

/** `peer help [command]` is `peer [command] --help`, and croc's `peer <code>` is `peer receive <code>`. */
function expandShorthands(args: string[]): string[] {
  const [first, ...rest] = args;
  if (first === 'help') return [...rest, '--help'];
  if (first !== undefined && SENDER_CODE.test(first)) return ['receive', ...args];
  return args;
}

/** The arguments as yargs should see them: short forms expanded, `-` under its stand-in. */
export function peerArgs(args: string[]): string[] {
  return expandShorthands(args).map((a) => (a === '-' ? DASH : a));
}

/** A value as typed: the stand-in back to `-`. */
export function undash(value: string): string {
  return value === DASH ? '-' : value;
}
