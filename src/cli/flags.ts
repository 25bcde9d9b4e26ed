/**
 * Checks on the raw command line that yargs does not make: it turns a flag
 * given twice into an array (which crashed string options, or joined two
 * --out paths) and keeps the last of a boolean given twice. Every flag of
 * ours takes one value, so a second one is a usage error, whatever its form.
 */

/** One-letter forms of our long flags. */
const SHORT: Readonly<Record<string, string>> = { h: 'help', v: 'version' };

/** `--iceServers`, `--ice-servers=x` and `--no-ice-servers` all name `ice-servers`. */
function flagName(arg: string): string | undefined {
  if (arg.startsWith('--')) {
    const name = (arg.slice(2).split('=')[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    return name.startsWith('no-') ? name.slice(3) : name;
  }
  if (/^-[a-zA-Z]$/.test(arg)) return SHORT[arg.slice(1)] ?? arg.slice(1);
  return undefined;
}

/** The flags named on the command line, in order (up to a bare `--`, after which all are operands). */
export function givenFlags(args: readonly string[]): string[] {
  const names: string[] = [];
  for (const arg of args) {
    if (arg === '--') break;
    const name = flagName(arg);
    if (name !== undefined && name !== '') names.push(name);
  }
  return names;
}

/** The first flag given more than once, as `--name`, or undefined. */
export function repeatedFlag(args: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const name of givenFlags(args)) {
    if (seen.has(name)) return `--${name}`;
    seen.add(name);
  }
  return undefined;
}
