/**
 * How events reach a person or a script.
 *
 * - `--json`: one JSON object per line on stdout, nothing else there.
 * - otherwise: the receiver's code alone on stdout (the one datum a script
 *   needs), and human sentences on stderr.
 * - Progress bars on stderr only when stderr is a terminal, not `--quiet`, and
 *   not `--json` unless `--progress` asks for them too (progress-view.ts);
 *   each finished file becomes one line above them.
 * - `peer receive --stdout` passes stderr as `stdout`: the data owns stdout.
 * - Whatever came from the network (text, names, the peer's or the server's
 *   error message) is escaped before it reaches a terminal (terminal-text.ts);
 *   `--text` into a pipe stays byte-exact.
 */
import type { HintContext, PeerlaneError } from '../core/errors.js';
import type { PeerEvent } from '../core/events.js';
import { formatBytes } from '../core/format.js';
import type { LastWords } from './freeze-guard.js';
import { JsonEvents } from './json-events.js';
import { ProgressView } from './progress-view.js';
import { pageLink, qrBlock } from './qr.js';
import type { Verb } from './sentences.js';
import { doneLine, errorLine, pathWords, summary, swarmDoneLine } from './sentences.js';
import { jsonSafe, terminalSafe, terminalSafeText } from './terminal-text.js';

export { formatBytes } from '../core/format.js';

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  /** Words for the summary line. */
  verb: Verb;
  /** --progress: draw the bars with --json too. */
  progress?: boolean;
  /** `peer send --text`: the receiver is not asked to accept a text, so nobody waits for that. */
  sendsText?: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
  /** Who prints errors, for their first word and hints: `peer` unless given. */
  program?: Pick<HintContext, 'program' | 'invocation'>;
  /** `peer share` / `peer get`: their hints differ from send's and receive's. */
  command?: HintContext['command'];
}

type FileDone = Extract<PeerEvent, { event: 'file-done' }>;

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
  private view: ProgressView | undefined;
  /** --json's events, progress throttled. */
  private readonly jsonEvents = new JsonEvents((e) => this.json(e));
  private connections = 0;
  /** `--qr`: the browser page each printed code links to. */
  private page: URL | undefined;

  constructor(private readonly options: OutputOptions) {
    this.stdout = options.stdout ?? process.stdout;
    this.stderr = options.stderr ?? process.stderr;
    for (const stream of [this.stdout, this.stderr, process.stdout, process.stderr]) watch(stream);
  }

  /** A sentence for people: stderr, unless --quiet. Above the bars while they are drawn. */
  say(line: string): void {
    if (this.options.quiet) return;
    if (this.view !== undefined) this.view.log(terminalSafe(line));
    else this.writeErr(line);
  }

  /** `--qr`: show each printed code as a link to `page`, and a QR code of it (with --json, a `url` field). */
  showPage(page: URL): void {
    this.page = page;
  }

  event(e: PeerEvent): void {
    if (e.event === 'ready' && this.page !== undefined) e = { ...e, url: pageLink(this.page, e.code) };
    if (this.options.json) this.jsonEvents.event(e);
    switch (e.event) {
      case 'listening':
        this.say(`peerlane signal server listening on ${e.host}:${e.port}`);
        return;
      case 'ready':
        this.ready(e.code, e.name);
        if (e.url !== undefined && !this.options.json) {
          this.qr(e.url).catch((err: Error) => this.writeErr(`peer: no QR code: ${err.message}`));
        }
        return;
      case 'peers':
        // The names are the output: one per line on stdout, for a person or `read`.
        if (this.options.json) return;
        if (e.peers.length === 0) this.say('No receivers are listed on this signal server.');
        for (const p of e.peers) this.outLine(p.name);
        return;
      case 'connected':
        this.connected(e);
        return;
      case 'path-changed':
        this.say(`Path changed: ${pathWords(e)}.`);
        return;
      case 'manifest':
        // The consent step lists the manifest for people; only --json reports it here.
        return;
      case 'text':
        // The message is the output: on stdout, whatever --quiet says.
        if (!this.options.json) this.out(`${this.stdout.isTTY ? terminalSafeText(e.text) : e.text}\n`);
        return;
      case 'skipped':
        this.say(`peer: skipped ${e.path}: ${e.reason}`);
        return;
      case 'reconnecting':
        this.say(`Connection lost (${e.message}); reconnecting, attempt ${e.attempt} of ${e.of}…`);
        return;
      case 'file-start':
        if (this.drawing) {
          this.view ??= new ProgressView(this.stderr);
          this.view.fileStart(e.file, e.size);
        }
        return;
      case 'progress':
        // `peer get` fetches chunks of every file at once and starts no file:
        // its first progress opens the bars, with the total alone.
        if (this.drawing) this.view ??= new ProgressView(this.stderr);
        this.view?.progress(e);
        return;
      case 'file-done':
        this.fileDone(e);
        return;
      case 'done':
        this.stopBars();
        for (const line of summary(e, this.options.verb)) this.say(line);
        return;
      case 'share-ready':
        this.say(
          `Sharing ${e.files} ${e.files === 1 ? 'file' : 'files'}, ${formatBytes(e.totalBytes)}. Whoever holds this ticket can fetch them with \`peer get TICKET\`:`,
        );
        if (!this.options.json) this.outLine(e.ticket);
        if (e.p2p !== undefined) this.say(`The ticket and the manifest are also in ${e.p2p}.`);
        return;
      case 'swarm-peer':
        return;
      case 'peer-banned':
        this.say(`peer: banned member ${e.member}: ${e.reason}`);
        return;
      case 'swarm-done':
        this.stopBars();
        this.say(swarmDoneLine(e));
        return;
      case 'error':
        return;
    }
  }

  /** What error() would write, as bytes for a given file descriptor: for a guard that cannot call us. */
  lastWords(err: PeerlaneError): LastWords[] {
    const words: LastWords[] = [];
    if (this.options.json) {
      const event = { event: 'error', code: err.code, message: err.message };
      words.push({ fd: this.stdout === process.stderr ? 2 : 1, text: `${jsonSafe(event)}\n` });
    }
    words.push({ fd: 2, text: `${this.errorLine(err)}\n` });
    return words;
  }

  /** The one line a failure gets, plus the `error` event under --json. */
  error(err: PeerlaneError): void {
    this.stopBars();
    if (this.options.json) this.json({ event: 'error', code: err.code, message: err.message });
    // Errors are shown even with --quiet: a silent non-zero exit helps nobody.
    this.writeErr(this.errorLine(err));
  }

  private errorLine(err: PeerlaneError): string {
    const side = this.options.verb === 'sent' ? 'send' : 'receive';
    return errorLine(err, { program: 'peer', ...this.options.program, side, command: this.options.command });
  }

  private get drawing(): boolean {
    const asked = !this.options.json || this.options.progress === true;
    return asked && !this.options.quiet && this.stderr.isTTY === true;
  }

  private ready(code: string, name: string | undefined): void {
    if (this.options.verb === 'sent') {
      this.say('Waiting for a receiver. On the other machine run:');
      // Pasteable as it stands: --out defaults to the current folder.
      this.say(`  peer receive ${code}`);
    } else {
      this.say('Waiting for a sender. On the other machine run:');
      this.say(`  peer send FILE --to ${code}`);
      if (name !== undefined) this.say(`(or --to ${name}, and type the words after the name when asked)`);
    }
    this.say('Code:');
    if (!this.options.json) this.outLine(code);
  }

  /** The link as a QR code and as text, on stderr: asked for with --qr, so shown with --quiet too. */
  private async qr(link: string): Promise<void> {
    const block = await qrBlock(link);
    // The drawing is the qrcode package's, colours included; only the link is escaped.
    if (!closedStreams.has(this.stderr)) this.stderr.write(block.endsWith('\n') ? block : `${block}\n`);
    this.writeErr(`Scan it, or open ${link} in a browser.`);
  }

  private connected(e: Extract<PeerEvent, { event: 'connected' }>): void {
    const first = this.connections++ === 0;
    const how =
      e.transport === 'relay'
        ? 'relayed through the signal server, sealed end to end'
        : `${pathWords(e)}${e.transport === 'tcp' ? ', over TCP' : ''}`;
    this.say(`${first ? 'Connected' : 'Connected again'}: ${how}.`);
    if (e.verify !== undefined) this.say(`Verify: the other side must show "${e.verify}".`);
    if (first && this.options.verb === 'sent' && this.options.sendsText !== true) {
      this.say('Waiting for the receiver to accept…');
    }
  }

  private fileDone(e: FileDone): void {
    if (this.options.quiet || (this.options.json && this.view === undefined)) return;
    const line = doneLine(e, this.options.verb);
    if (this.view !== undefined) this.view.fileDone(e.name, terminalSafe(line));
    else this.writeErr(line);
  }

  private stopBars(): void {
    this.view?.stop();
    this.view = undefined;
  }

  private json(e: PeerEvent): void {
    this.out(`${jsonSafe(e)}\n`);
  }

  /** A line of data on stdout (the code, a peer's name): escaped if a person will see it. */
  private outLine(text: string): void {
    this.out(`${this.stdout.isTTY ? terminalSafe(text) : text}\n`);
  }

  private out(text: string): void {
    if (closedStreams.has(this.stdout)) return;
    // --json --progress on one terminal: the JSON lines go above the bars, not through them.
    if (this.view !== undefined && this.stdout.isTTY === true) this.view.above(() => this.stdout.write(text));
    else this.stdout.write(text);
  }

  private writeErr(line: string): void {
    if (!closedStreams.has(this.stderr)) this.stderr.write(`${terminalSafe(line)}\n`);
  }
}

/** Resolve once `stream` has flushed what was written, so exiting loses nothing. */
export function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}
