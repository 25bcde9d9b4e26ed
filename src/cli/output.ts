/**
 * How events reach a person or a script.
 *
 * - `--json`: one JSON object per line on stdout, nothing else there.
 * - otherwise: the receiver's code alone on stdout (the one datum a script
 *   needs), and human sentences on stderr.
 * - Progress bars on stderr only when stderr is a terminal and not `--quiet`:
 *   a cli-progress MultiBar with one bar per file in flight and a total bar;
 *   each finished file collapses to one summary line above them.
 * - `peer receive --stdout` passes stderr as `stdout`: the data owns stdout.
 */
import cliProgress from 'cli-progress';
import type { PeerlaneError } from '../errors.js';
import type { PeerEvent } from '../events.js';
import type { LastWords } from './freeze-guard.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  /** Words for the summary line. */
  verb: 'sent' | 'received';
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

/** JSON progress events at most this often: enough for a script's own bar, cheap to print. */
const PROGRESS_EVENT_INTERVAL_MS = 200;

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = n;
  let unit = 0;
  // Compare the rounded figure, so 999,999 B reads 1.0 MB rather than 1000.0 kB.
  while (Math.round(value * 10) / 10 >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/**
 * Streams whose reader went away: `peer receive --json | head -1` keeps the
 * code and closes the pipe, and the transfer must go on regardless. Node
 * reports that as an EPIPE 'error' event, fatal when nobody listens; our
 * messages and events are best-effort, so they stop there. (Data written to
 * stdout by `receive --stdout` still fails its transfer: its write callback
 * reports the error to the receiver.)
 */
const closedStreams = new WeakSet<NodeJS.WritableStream>();
const watchedStreams = new WeakSet<NodeJS.WritableStream>();

function watch(stream: NodeJS.WritableStream): void {
  if (watchedStreams.has(stream)) return;
  watchedStreams.add(stream);
  stream.on('error', () => closedStreams.add(stream));
}

export class Output {
  private readonly stdout: NodeJS.WriteStream;
  private readonly stderr: NodeJS.WriteStream;
  private multi: cliProgress.MultiBar | undefined;
  private totalBar: cliProgress.SingleBar | undefined;
  private readonly fileBars = new Map<string, cliProgress.SingleBar>();
  private lastProgressEvent = 0;
  /** When the first byte moved: the rate must not count time spent waiting for the peer. */
  private firstProgressAt: number | undefined;

  constructor(private readonly options: OutputOptions) {
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    for (const stream of [this.stdout, this.stderr, process.stdout, process.stderr]) watch(stream);
  }

  /** A sentence for people: stderr, unless --quiet. */
  say(line: string): void {
    if (!this.options.quiet) this.writeErr(line);
  }

  event(e: PeerEvent): void {
    // Progress is throttled below; every other event goes out as it happens.
    if (this.options.json && e.event !== 'progress') this.json(e);
    switch (e.event) {
      case 'listening':
        this.say(`peerlane signal server listening on ${e.host}:${e.port}`);
        return;
      case 'ready':
        if (this.options.verb === 'sent') {
          this.say('Waiting for a receiver. On the other machine run:');
          this.say(`  peer receive ${e.code} --out <folder>`);
        } else {
          this.say('Waiting for a sender. On the other machine run:');
          this.say(`  peer send <files...> --to ${e.code}`);
          if (e.name !== undefined) {
            this.say(`(or --to ${e.name}, and type the words after the name when asked)`);
          }
        }
        this.say('Code:');
        if (!this.options.json) this.out(`${e.code}\n`);
        return;
      case 'peers':
        // The names are the output: one per line on stdout, for a person or `read`.
        if (this.options.json) return;
        if (e.peers.length === 0) this.say('No receivers are listed on this signal server.');
        for (const p of e.peers) this.out(`${p.name}\n`);
        return;
      case 'connected':
        this.say(`Connected (${e.path}: ${e.local} -> ${e.remote}).`);
        if (e.verify !== undefined) this.say(`Verify: the other side must show "${e.verify}".`);
        return;
      case 'path-changed':
        this.say(`Path changed (${e.path}: ${e.local} -> ${e.remote}).`);
        return;
      case 'manifest':
        // The consent step lists the manifest for people; only --json reports it here.
        return;
      case 'text':
        // The message is the output: on stdout, whatever --quiet says.
        if (!this.options.json) this.out(`${e.text}\n`);
        return;
      case 'skipped':
        this.say(`peer: skipped ${e.path}: ${e.reason}`);
        return;
      case 'file-start':
        this.fileStart(e);
        return;
      case 'file-done':
        this.fileDone(e);
        return;
      case 'progress':
        this.progress(e);
        return;
      case 'done': {
        this.stopBar();
        const n = e.files.length;
        const already = e.files.filter((f) => f.already).length;
        this.say(
          `${this.options.verb === 'sent' ? 'Sent' : 'Received'} ${n} file${n === 1 ? '' : 's'}, ` +
            `${formatBytes(e.bytes)} in ${e.seconds.toFixed(1)} s (${e.mbps.toFixed(1)} MB/s), SHA-256 verified` +
            (already > 0
              ? `; ${already} of them ${already === 1 ? 'was' : 'were'} already there, identical.`
              : '.'),
        );
        return;
      }
      case 'error':
        return;
    }
  }

  /** The one line a failure gets, plus the `error` event under --json. */
  /** What error() would write, as bytes for a given file descriptor: for a guard that cannot call us. */
  lastWords(err: PeerlaneError): LastWords[] {
    const words: LastWords[] = [];
    if (this.options.json) {
      const event = { event: 'error', code: err.code, message: err.message };
      words.push({ fd: this.stdout === process.stderr ? 2 : 1, text: `${JSON.stringify(event)}\n` });
    }
    words.push({ fd: 2, text: `peer: ${err.code}: ${err.message}. Next: ${err.hint}.\n` });
    return words;
  }

  error(err: PeerlaneError): void {
    this.stopBar();
    if (this.options.json) this.json({ event: 'error', code: err.code, message: err.message });
    // Errors are shown even with --quiet: a silent non-zero exit helps nobody.
    this.writeErr(`peer: ${err.code}: ${err.message}. Next: ${err.hint}.`);
  }

  private get drawing(): boolean {
    return !this.options.quiet && this.stderr.isTTY === true;
  }

  private bars(): cliProgress.MultiBar {
    this.multi ??= new cliProgress.MultiBar(
      { stream: this.stderr, hideCursor: true, etaBuffer: 50, fps: 10, clearOnComplete: false },
      cliProgress.Presets.shades_classic,
    );
    return this.multi;
  }

  /** The total bar, made at the first progress: its format depends on whether the total is known. */
  private ensureTotal(total: number | null): void {
    if (this.totalBar === undefined) {
      this.totalBar = this.bars().create(
        Math.max(total ?? 0, 1),
        0,
        { name: 'total', done: '0 B', size: '', rate: '' },
        {
          format:
            total === null
              ? ' {name} | {done} | {rate}'
              : ' {bar} {percentage}% | {done} / {size} | {rate} | ETA {eta_formatted} | {name}',
        },
      );
    }
  }

  private fileStart(e: Extract<PeerEvent, { event: 'file-start' }>): void {
    if (!this.drawing) return;
    const bar = this.bars().create(
      Math.max(e.size ?? 0, 1),
      0,
      { name: e.file, done: '0 B', size: e.size === null ? '' : formatBytes(e.size), rate: '' },
      {
        format:
          e.size === null ? ' {name} | {done} | {rate}' : ' {bar} {percentage}% | {done} / {size} | {name}',
      },
    );
    this.fileBars.set(e.file, bar);
    this.multi?.update(); // drawn at once: a small file may be done before the next frame
  }

  private fileDone(e: Extract<PeerEvent, { event: 'file-done' }>): void {
    if (!this.drawing) return;
    const bar = this.fileBars.get(e.name);
    if (bar !== undefined) {
      // Shown at 100% once, then collapsed into a line above the bars.
      bar.update(Math.max(e.bytes, 1), { done: formatBytes(e.bytes) });
      this.multi?.update();
      this.fileBars.delete(e.name);
      this.multi?.remove(bar);
    }
    const what = e.already ? 'already there' : 'done';
    const line = `  ${what}  ${formatBytes(e.bytes).padStart(9)}  ${e.name}`;
    // A file already there comes before any bar is drawn.
    if (this.multi === undefined) this.say(line);
    else this.multi.log(`${line}\n`);
  }

  private progress(e: Extract<PeerEvent, { event: 'progress' }>): void {
    const now = Date.now();
    const final = e.total !== null && e.bytes === e.total;
    if (this.options.json && (final || now - this.lastProgressEvent >= PROGRESS_EVENT_INTERVAL_MS)) {
      this.lastProgressEvent = now;
      this.json(e);
    }
    if (!this.drawing) return;
    this.firstProgressAt ??= now;
    const seconds = Math.max((now - this.firstProgressAt) / 1000, 0.001);
    const rate = `${formatBytes(e.bytes / seconds)}/s`;
    this.ensureTotal(e.total);
    this.totalBar?.update(e.total === null ? 0 : e.total === 0 ? 1 : e.bytes, {
      name: e.total === null ? 'total (size unknown)' : 'total',
      done: formatBytes(e.bytes),
      size: e.total === null ? '' : formatBytes(e.total),
      rate,
    });
    const bar = this.fileBars.get(e.file);
    bar?.update(e.fileSize === null ? 0 : e.fileSize === 0 ? 1 : e.fileBytes, {
      done: formatBytes(e.fileBytes),
      rate,
    });
  }

  private stopBar(): void {
    this.multi?.update(); // flushes the last summary lines
    this.multi?.stop();
    this.multi = undefined;
    this.totalBar = undefined;
    this.fileBars.clear();
  }

  private json(e: PeerEvent): void {
    this.out(`${JSON.stringify(e)}\n`);
  }

  private out(text: string): void {
    if (!closedStreams.has(this.stdout)) this.stdout.write(text);
  }

  private writeErr(line: string): void {
    if (!closedStreams.has(this.stderr)) this.stderr.write(`${line}\n`);
  }
}

/** Resolve once `stream` has flushed what was written, so exiting loses nothing. */
export function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}
