/**
 * `peer receive`: wait under a fresh code (or, given one, join the sender that
 * printed it), then receive whatever the sender offers.
 */
import type { Writable } from 'node:stream';
import type { ManifestEntry } from '../transfer/protocol.js';
import { prepareOutDir, receiveFiles } from '../transfer/receiver.js';
import type { TransferResult } from '../transfer/types.js';
import type { SessionOptions } from './common.js';
import { doneEvent, fileEvent, openLink, progressEvent } from './common.js';
import { checkCode, pair } from './pair.js';

export interface ReceiveSessionOptions extends SessionOptions {
  outDir: string;
  /** Secret words in the code (default 2). */
  codeWords?: number;
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

/**
 * After DONE the sender closes the channel; waiting for that (briefly) lets our
 * DONE reach it before we tear the connection down.
 */
const GOODBYE_WAIT_MS = 2_000;

export async function receive(options: ReceiveSessionOptions): Promise<TransferResult> {
  const emit = options.onEvent ?? (() => {});
  // Fail before printing a code, not after the sender has connected.
  checkCode({ ...options, intent: 'receive' });
  if (options.stdout === undefined) await prepareOutDir(options.outDir);
  const pairing = await pair({ ...options, intent: 'receive', code: options.code });
  const framed = await openLink(pairing, options);
  try {
    const result = await receiveFiles({
      link: framed,
      outDir: options.outDir,
      ...(options.overwrite ? { overwrite: true } : {}),
      stdout: options.stdout,
      onText: (text) => emit({ event: 'text', text }),
      onFile: (e) => emit(fileEvent(e)),
      onManifest: async (files, signal) => {
        emit({
          event: 'manifest',
          files: files.map((f) => ({ ...f })),
          total: files.some((f) => f.size === null) ? null : files.reduce((s, f) => s + (f.size ?? 0), 0),
        });
        await options.onManifest?.(files, signal);
      },
      onProgress: (p) => emit(progressEvent(p)),
    });
    await Promise.race([
      new Promise<void>((resolve) => framed.link.onClose(() => resolve())),
      new Promise<void>((resolve) => setTimeout(resolve, GOODBYE_WAIT_MS).unref()),
    ]);
    emit(doneEvent(result));
    return result;
  } finally {
    framed.stop();
    framed.link.close();
  }
}
