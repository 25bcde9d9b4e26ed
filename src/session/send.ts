/**
 * `peer send`: with `--to <code>`, join the waiting receiver; without, print a
 * code and wait for `peer receive <code>`. Then stream the files (or the text)
 * to it.
 */
import type { Readable } from 'node:stream';
import { PeerlaneError } from '../core/errors.js';
import { sendOver } from '../core/session/transfer.js';
import { checkText } from '../core/transfer/sender-engine.js';
import type { TransferResult } from '../core/transfer/types.js';
import { hashSources } from '../transfer/resume.js';
import { sendFiles } from '../transfer/sender.js';
import type { SourceFile } from '../transfer/sources.js';
import { resolveSources } from '../transfer/sources.js';
import { sendJob } from './attempt-jobs.js';
import { warmChild } from './child-watch.js';
import type { SessionOptions } from './common.js';
import { doneEvent, withSession } from './common.js';
import { checkCode, pair } from './pair.js';
import { startIsolatedSession, startSession } from './peer-session.js';

export interface SendSessionOptions extends SessionOptions {
  paths: readonly string[];
  /** The receiver's code, `<nameplate>-<word>-<word>` or `<name>-<word>-<word>`; absent: print one and wait. */
  code?: string | undefined;
  /** Send this message instead of files. */
  text?: string | undefined;
  /** Secret words in a code we print (default 2). */
  codeWords?: number | undefined;
  /** What `-` reads (default: process.stdin). */
  stdin?: Readable | undefined;
  /** The name a stream from `-` is offered under (default "stdin"). */
  stdinName?: string | undefined;
  /**
   * With `verify`: show the words to a person and resolve once they match,
   * before the manifest or any data leaves; throw to stop. `signal` aborts if
   * the peer goes away meanwhile. Asked on the first channel only: later ones
   * are authenticated by the session key the words confirmed.
   */
  confirmVerify?: ((words: string, signal: AbortSignal) => Promise<void>) | undefined;
}

export async function send(options: SendSessionOptions): Promise<TransferResult> {
  const emit = options.onEvent ?? (() => {});
  // A misspelt code or a missing file fails before anyone waits on a connection,
  // and before the code's single guess is spent.
  checkCode({ code: options.code, intent: 'send' });
  let files: SourceFile[] = [];
  if (options.text !== undefined) {
    if (options.paths.length > 0) throw new PeerlaneError('USAGE', 'send --text or files, not both');
    checkText(options.text);
  } else {
    files = await resolveSources(options.paths, {
      onSkip: (path, reason) => emit({ event: 'skipped', path, reason }),
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      ...(options.stdinName !== undefined ? { stdinName: options.stdinName } : {}),
    });
  }
  // Each file's SHA-256 goes in the manifest: taken while the peers find each
  // other (sendFiles waits for this same run).
  hashSources(files, options.abortSignal).catch(() => {});
  if (options.isolate !== undefined && files.every((f) => f.stream === undefined)) warmChild();
  let words: string | undefined;
  const pairing = await pair({ ...options, intent: 'send', code: options.code });
  const sessionOptions: SessionOptions = {
    ...options,
    onEvent: (e) => {
      if (e.event === 'connected') words = e.verify;
      emit(e);
    },
  };
  // A stream read once cannot be offered again; files and text can.
  const resumable = files.every((f) => f.stream === undefined);
  const over = { emit, words: () => words, confirmVerify: options.confirmVerify, resumable };
  const { text } = options;
  // A stream is not resent anyway, and its bytes come through this process: it stays here.
  const result =
    options.isolate !== undefined && resumable
      ? await withSession(startIsolatedSession(pairing, sessionOptions, options.isolate.freezeLimitMs), (s) =>
          sendOver(s, {
            ...over,
            transfer: async (link, hooks) => link.run(await sendJob(files, text, hooks), hooks),
          }),
        )
      : await withSession(startSession(pairing, sessionOptions), (s) =>
          sendOver(s, {
            ...over,
            transfer: (link, hooks) =>
              sendFiles({ link, files, ...(text !== undefined ? { text } : {}), ...hooks }),
          }),
        );
  emit(doneEvent(result, text !== undefined ? { text: true } : {}));
  return result;
}
