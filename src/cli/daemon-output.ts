/**
 * What the daemon's commands print. With --json every line is one JSON
 * object: the job events as the job emitted them with a `job` field added,
 * `{"event":"job", …status}` for a job's state (what `peer status` lists, and
 * how a job ended), and `{"event":"daemon","socket":…}` once a daemon
 * listens. Without it, a line per job for people: its state, its figures and
 * the ticket to pass on.
 */
import type { PeerEvent } from '../core/events.js';
import { formatBytes } from '../core/format.js';
import type { SwarmStatus } from '../swarm/jobs.js';
import { jsonSafe, terminalSafe } from './terminal-text.js';

export interface DaemonOutputOptions {
  json: boolean;
  quiet: boolean;
}

/** A job's state in words: what it has, moved and has to do. */
function jobWords(s: SwarmStatus): string {
  const have = s.totalBytes > 0 ? ` ${formatBytes(s.haveBytes)} of ${formatBytes(s.totalBytes)},` : '';
  const files = `${s.files} file${s.files === 1 ? '' : 's'}`;
  const moved = `up ${formatBytes(s.uploadedBytes)}, down ${formatBytes(s.downloadedBytes)}`;
  const peers = `${s.peers} peer${s.peers === 1 ? '' : 's'}`;
  const error = s.error === undefined ? '' : ` ${s.error.code}: ${s.error.message}`;
  const into = s.out === undefined ? '' : `, into ${s.out}`;
  return `${s.id}  ${s.kind} ${s.state}: ${files},${have} ${moved}, ${peers}${into}${error}`;
}

export class DaemonOutput {
  constructor(private readonly options: DaemonOutputOptions) {}

  /** A job's state: a JSON line, or its words on stdout (the listing is what was asked for). */
  job(s: SwarmStatus): void {
    if (this.options.json) {
      this.line({ event: 'job', ...s });
      return;
    }
    this.out(jobWords(s));
    // The ticket on a line of its own, to copy.
    if (s.kind === 'share' && s.ticket !== '') this.out(`  ${s.ticket}`);
  }

  /** One of a job's events; for people only what ends or breaks something. */
  event(job: string, e: PeerEvent): void {
    if (this.options.json) this.line({ ...e, job });
    else if (e.event === 'error') this.say(`${job}: ${e.code}: ${e.message}`);
  }

  daemon(socket: string): void {
    if (this.options.json) this.line({ event: 'daemon', socket });
    else this.say(`peer daemon: listening on ${socket}; stop it with Ctrl-C or \`peer daemon --stop\`.`);
  }

  /** A sentence for people on stderr, unless --quiet or --json. */
  say(text: string): void {
    if (!this.options.quiet && !this.options.json) process.stderr.write(`${terminalSafe(text)}\n`);
  }

  private line(value: unknown): void {
    process.stdout.write(`${jsonSafe(value)}\n`);
  }

  private out(text: string): void {
    process.stdout.write(`${process.stdout.isTTY ? terminalSafe(text) : text}\n`);
  }
}
