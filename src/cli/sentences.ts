/**
 * The sentences a person reads about a transfer: how the data goes, each
 * finished file, the summary, a failure. Words, not jargon: the exact
 * figures and ICE candidate types are in the --json events.
 */
import type { HintContext, PeerlaneError } from '../core/errors.js';
import { errorLine as plainErrorLine } from '../core/errors.js';
import type { PeerEvent } from '../core/events.js';
import { formatBytes } from '../core/format.js';
import type { Reach } from '../core/reach.js';
import { displayName } from './consent.js';
import { terminalSafe } from './terminal-text.js';

type FileDone = Extract<PeerEvent, { event: 'file-done' }>;
type Done = Extract<PeerEvent, { event: 'done' }>;
export type Verb = 'sent' | 'received';

/** The path in words: candidate types are jargon, and stay in the JSON event. */
export function pathWords(e: { path: string; reach?: Reach }): string {
  if (e.path === 'relay') return 'relayed through TURN';
  if (e.reach === 'same-network') return 'direct, same network';
  if (e.reach === 'through-nat') return 'direct, through NAT';
  if (e.reach === 'internet') return 'direct, between public addresses';
  return 'direct';
}

/** A failure's one line (code, what happened, what to do next), safe for a terminal. */
export function errorLine(err: PeerlaneError, context: HintContext): string {
  return terminalSafe(plainErrorLine(err, context));
}

/** Where the receiver put a file, relative to --out, if not under its own name (`a (1).txt`). */
function savedAs(e: FileDone, verb: Verb): string | undefined {
  if (verb !== 'received' || e.path === '-') return undefined;
  const depth = e.name.split('/').length;
  const saved = e.path.split(/[\\/]/).slice(-depth).join('/');
  return saved === e.name ? undefined : saved;
}

/** One finished file: its size, name, and what a person would not guess. */
export function doneLine(e: FileDone, verb: Verb): string {
  const saved = savedAs(e, verb);
  const what = e.already === true ? 'already there' : 'done';
  let line = `  ${what}  ${formatBytes(e.bytes).padStart(9)}  ${displayName(e.name)}`;
  if (saved !== undefined) line += `, saved as ${displayName(saved)}`;
  if (e.resumedBytes > 0) line += ` (resumed: ${formatBytes(e.resumedBytes)} were already there)`;
  return line;
}

/** The run's last line, and a second one if files were resumed. */
export function summary(e: Done, verb: Verb): string[] {
  if (e.text === true) return [verb === 'sent' ? 'Sent the text.' : 'Received a text.'];
  const n = e.files.length;
  const into = e.out === undefined ? '' : ` into ${e.out}`;
  const already = e.files.filter((f) => f.already === true).length;
  const lines = [
    `${verb === 'sent' ? 'Sent' : 'Received'} ${n} file${n === 1 ? '' : 's'}, ` +
      `${formatBytes(e.bytes)} in ${e.seconds.toFixed(1)} s (${e.mbps.toFixed(1)} MB/s)${into}, SHA-256 verified` +
      (already > 0
        ? `; ${already} of them ${already === 1 ? 'was' : 'were'} already there, identical.`
        : '.'),
  ];
  const resumed = e.files.filter((f) => f.resumedBytes > 0);
  if (resumed.length > 0) {
    const bytes = resumed.reduce((sum, f) => sum + f.resumedBytes, 0);
    const files = resumed.length === 1 ? '1 file' : `${resumed.length} files`;
    lines.push(`${files} resumed: ${formatBytes(bytes)} were already there and were not sent again.`);
  }
  return lines;
}

/** The last line of `peer share` and `peer get`. */
export function swarmDoneLine(e: Extract<PeerEvent, { event: 'swarm-done' }>): string {
  const up = `uploaded ${formatBytes(e.uploadedBytes)} to other members`;
  if (e.kind === 'share') return `Share ended after ${e.seconds.toFixed(1)} s: ${up}.`;
  const bytes = e.files.reduce((n, f) => n + f.bytes, 0);
  return `Got ${e.files.length} ${e.files.length === 1 ? 'file' : 'files'} (${formatBytes(bytes)}, every chunk verified) into ${e.out ?? '.'} in ${e.seconds.toFixed(1)} s; ${up}.`;
}
