/**
 * `peer receive`: wait under a fresh code (or, given one, join the sender that
 * printed it), then receive whatever the sender offers.
 */
import path from 'node:path';
import type { Writable } from 'node:stream';
import { PeerlaneError } from '../core/errors.js';
import type { ReceiveMemory } from '../core/transfer/file-access.js';
import type { ManifestEntry } from '../core/transfer/protocol.js';
import { manifestTotal } from '../core/transfer/protocol.js';
import type { Tally, TransferResult } from '../core/transfer/types.js';
import { prepareOutDir } from '../transfer/out-dir.js';
import { receiveFiles } from '../transfer/receiver.js';
import type { SessionOptions } from './common.js';
import { doneEvent, fileEvent, progressEvent } from './common.js';
import { checkCode, pair } from './pair.js';
import { startSession } from './peer-session.js';

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

/**
 * After DONE the sender closes the channel; waiting for that (briefly) lets our
 * DONE reach it before we tear the connection down.
 */
const GOODBYE_WAIT_MS = 2_000;

export async function receive(options: ReceiveSessionOptions): Promise<TransferResult> {
  const emit = options.onEvent ?? (() => {});
  // Fail before printing a code, not after the sender has connected; the one place the folder is made.
  checkCode({ ...options, intent: 'receive' });
  if (options.stdout === undefined) await prepareOutDir(options.outDir);
  const pairing = await pair({ ...options, intent: 'receive', code: options.code });
  const session = await startSession(pairing, options);
  const memory: ReceiveMemory = { completed: new Map(), targets: new Map() };
  const tally: Tally = { bytes: 0 };
  /** The manifest consented to; a reconnection must offer the same one. */
  let agreed: string | undefined;
  let gotText = false;
  try {
    const result = await session.run(async (framed) => {
      const result = await receiveFiles({
        link: framed,
        outDir: options.outDir,
        ...(options.overwrite ? { overwrite: true } : {}),
        stdout: options.stdout,
        memory,
        tally,
        onText: (text) => {
          gotText = true;
          emit({ event: 'text', text });
        },
        onFile: (e) => emit(fileEvent(e)),
        onManifest: async (files, signal) => {
          const offered = JSON.stringify(files);
          if (agreed !== undefined) {
            if (offered !== agreed)
              throw new PeerlaneError('REFUSED', 'the sender offered other files after reconnecting');
            return;
          }
          emit({
            event: 'manifest',
            files: files.map((f) => ({ ...f })),
            total: manifestTotal(files),
          });
          await options.onManifest?.(files, signal);
          agreed = offered;
        },
        onProgress: (p) => emit(progressEvent(p, tally.bytes)),
      });
      await Promise.race([
        new Promise<void>((resolve) => framed.link.onClose(() => resolve())),
        new Promise<void>((resolve) => setTimeout(resolve, GOODBYE_WAIT_MS).unref()),
      ]);
      return result;
    }, options.stdout === undefined);
    emit(
      doneEvent(
        result,
        gotText ? { text: true } : options.stdout === undefined ? { out: path.resolve(options.outDir) } : {},
      ),
    );
    return result;
  } finally {
    session.close();
  }
}
