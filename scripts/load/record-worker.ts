/** A thread that records the transcripts of nameplates `first`..`last` (see replay.ts) and posts them back. */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { TranscriptBook } from './replay.js';
import { recordTranscript } from './replay.js';

if (!isMainThread && parentPort !== null) {
  const { first, last } = workerData as { first: number; last: number };
  const book: TranscriptBook = {};
  for (let n = first; n <= last; n++) book[String(n)] = await recordTranscript(String(n));
  parentPort.postMessage(book);
}
