/** `peer receive`: wait under a fresh code, then receive whatever the sender offers. */
import { formatCode, generateSecret } from '../secure/code.js';
import { SignalClient } from '../signaling/client.js';
import type { ManifestEntry } from '../transfer/protocol.js';
import { prepareOutDir, receiveFiles } from '../transfer/receiver.js';
import type { TransferResult } from '../transfer/types.js';
import type { SessionOptions } from './common.js';
import { abortable, doneEvent, openLink, progressEvent } from './common.js';

export interface ReceiveSessionOptions extends SessionOptions {
  outDir: string;
  /** Secret words in the code (default 2). */
  codeWords?: number;
  /** Replace existing files instead of writing `name (1).ext`. */
  overwrite?: boolean;
  /** Ask for consent; throw to refuse the offered files. `signal` aborts if the peer goes away meanwhile. */
  onManifest?: (files: readonly ManifestEntry[], signal: AbortSignal) => void | Promise<void>;
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
  const secret = generateSecret(options.codeWords);
  const client = await SignalClient.connect(options.signal);
  let pairing: Parameters<typeof openLink>[0];
  try {
    const nameplate = await client.register();
    emit({ event: 'ready', code: formatCode({ nameplate, secret }) });
    const role = await abortable(client.waitForPeer(), options.abortSignal);
    pairing = { client, role, intent: 'receive', nameplate, secret };
  } catch (err) {
    client.close();
    throw err;
  }
  const framed = await openLink(pairing, options);
  try {
    const result = await receiveFiles({
      link: framed,
      outDir: options.outDir,
      ...(options.overwrite ? { overwrite: true } : {}),
      onManifest: async (files, signal) => {
        emit({
          event: 'manifest',
          files: files.map((f) => ({ ...f })),
          total: files.reduce((s, f) => s + f.size, 0),
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
