/**
 * `peer receive`: wait under a fresh code (or, given one, join the sender that
 * printed it), then receive whatever the sender offers.
 */
import path from 'node:path';
import type { Writable } from 'node:stream';
import { receiveOver } from '../core/session/transfer.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import type { TransferResult } from '../core/transfer/types.js';
import { prepareOutDir } from '../transfer/out-dir.js';
import { receiveFiles } from '../transfer/receiver.js';
import { receiveJob } from './attempt-jobs.js';
import { warmChild } from './child-watch.js';
import type { SessionOptions } from './common.js';
import { doneEvent, withSession } from './common.js';
import { checkCode, pair } from './pair.js';
import { startIsolatedSession, startSession } from './peer-session.js';

export interface ReceiveSessionOptions extends SessionOptions {
  outDir: string;
  /** Secret words in the code (default 2, or 4 with a name: see secure/code.ts). */
  codeWords?: number | undefined;
  /** Replace existing files instead of writing `name (1).ext`. */
  overwrite?: boolean;
  /** Ask for consent; throw to refuse the offered files. `signal` aborts if the peer goes away meanwhile. */
  onManifest?: (files: readonly ManifestEntry[], signal: AbortSignal) => void | Promise<void>;
  /** The sender's code (it went first); absent: print a code and wait. */
  code?: string | undefined;
  /** Waiting: also be reachable as `--to <name>-<words>` (unique on the server). */
  name?: string | undefined;
  /** With `name`: show it to `peer list`. */
  listed?: boolean | undefined;
  /** Write the one incoming file or stream here instead of under outDir. */
  stdout?: Writable | undefined;
}

export async function receive(options: ReceiveSessionOptions): Promise<TransferResult> {
  const emit = options.onEvent ?? (() => {});
  // Fail before printing a code, not after the sender has connected; the one place the folder is made.
  checkCode({ ...options, intent: 'receive' });
  if (options.stdout === undefined) await prepareOutDir(options.outDir);
  if (options.isolate !== undefined && options.stdout === undefined) warmChild();
  const pairing = await pair({ ...options, intent: 'receive', code: options.code });
  const over = { emit, onManifest: options.onManifest, resumable: options.stdout === undefined };
  const { outDir, overwrite = false } = options;
  // --stdout writes through this process, and is not resumed anyway: it stays here.
  const { result, text } =
    options.isolate !== undefined && options.stdout === undefined
      ? await withSession(startIsolatedSession(pairing, options, options.isolate.freezeLimitMs), (s) =>
          receiveOver(s, {
            ...over,
            transfer: (link, hooks) => link.run(receiveJob(outDir, overwrite, hooks), hooks),
          }),
        )
      : await withSession(startSession(pairing, options), (s) =>
          receiveOver(s, {
            ...over,
            transfer: (link, hooks) =>
              receiveFiles({
                link,
                outDir,
                ...(overwrite ? { overwrite } : {}),
                stdout: options.stdout,
                ...hooks,
              }),
          }),
        );
  emit(
    doneEvent(
      result,
      text ? { text: true } : options.stdout === undefined ? { out: path.resolve(outDir) } : {},
    ),
  );
  return result;
}
