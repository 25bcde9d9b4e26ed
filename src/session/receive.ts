/** `peer receive`: wait under a fresh code, then receive whatever the sender offers. */
import { PeerlaneError } from '../errors.js';
import { SignalClient } from '../signaling/client.js';
import type { ManifestEntry } from '../transfer/protocol.js';
import { prepareOutDir, receiveFiles } from '../transfer/receiver.js';
import type { TransferResult } from '../transfer/types.js';
import type { SessionOptions } from './common.js';
import { doneEvent, openLink, progressEvent, throwIfAborted } from './common.js';

export interface ReceiveSessionOptions extends SessionOptions {
  outDir: string;
  /** Throw to refuse the offered files. */
  onManifest?: (files: readonly ManifestEntry[]) => void | Promise<void>;
}

/**
 * After DONE the sender closes the channel; waiting for that (briefly) lets our
 * DONE reach it before we tear the connection down.
 */
const GOODBYE_WAIT_MS = 2_000;

export async function receive(options: ReceiveSessionOptions): Promise<TransferResult> {
  const emit = options.onEvent ?? (() => {});
  // Fail before printing a code, not after the sender has connected.
  await prepareOutDir(options.outDir);
  const client = await SignalClient.connect(options.signal);
  let role: Awaited<ReturnType<SignalClient['waitForPeer']>>;
  try {
    const code = await client.register();
    emit({ event: 'ready', code });
    role = await abortable(client.waitForPeer(), options.abortSignal);
  } catch (err) {
    client.close();
    throw err;
  }
  const framed = await openLink(client, role, options);
  try {
    const result = await receiveFiles({
      link: framed,
      outDir: options.outDir,
      onManifest: async (files) => {
        emit({
          event: 'manifest',
          files: files.map((f) => ({ ...f })),
          total: files.reduce((s, f) => s + f.size, 0),
        });
        await options.onManifest?.(files);
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

function abortable<T>(step: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return step;
  throwIfAborted(signal);
  return Promise.race([
    step,
    new Promise<never>((_, reject) =>
      signal.addEventListener('abort', () => reject(new PeerlaneError('INTERRUPTED', 'interrupted')), {
        once: true,
      }),
    ),
  ]);
}
