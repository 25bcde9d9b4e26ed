/** `peer send --to <code>`: join the waiting receiver and stream the files to it. */
import { parseCode } from '../secure/code.js';
import { SignalClient } from '../signaling/client.js';
import { sendFiles } from '../transfer/sender.js';
import { resolveSources } from '../transfer/sources.js';
import type { TransferResult } from '../transfer/types.js';
import type { SessionOptions } from './common.js';
import { doneEvent, openLink, progressEvent, throwIfAborted } from './common.js';

export interface SendSessionOptions extends SessionOptions {
  paths: readonly string[];
  /** The receiver's code, `<nameplate>-<word>-<word>`. */
  code: string;
}

export async function send(options: SendSessionOptions): Promise<TransferResult> {
  const emit = options.onEvent ?? (() => {});
  // A misspelt code or a missing file fails before anyone waits on a connection,
  // and before the code's single guess is spent.
  const { nameplate, secret } = parseCode(options.code);
  const files = await resolveSources(options.paths);
  throwIfAborted(options.abortSignal);
  const client = await SignalClient.connect(options.signal);
  let role: Awaited<ReturnType<SignalClient['join']>>;
  try {
    role = await client.join(nameplate);
  } catch (err) {
    client.close();
    throw err;
  }
  const framed = await openLink({ client, role, intent: 'send', nameplate, secret }, options);
  try {
    const result = await sendFiles({ link: framed, files, onProgress: (p) => emit(progressEvent(p)) });
    emit(doneEvent(result));
    return result;
  } finally {
    framed.stop();
    framed.link.close();
  }
}
