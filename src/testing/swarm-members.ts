/**
 * Swarm members that misbehave, for tests: they speak the swarm protocol over
 * any MessageLink (a memory pair, or a link the connector opened), so the
 * same liar serves unit tests and process tests.
 */

import type { MessageLink } from '../core/link.js';
import { Bitfield } from '../core/swarm/bitfield.js';
import type { SwarmManifest } from '../core/swarm/manifest.js';
import { ChunkLayout, encodeManifest, manifestRoot } from '../core/swarm/manifest.js';
import {
  encodeDataFrame,
  encodeSwarmFrame,
  parseSwarmFrame,
  SWARM_DATA_HEADER,
  SWARM_PROTOCOL_VERSION,
} from '../core/swarm/protocol.js';

export interface LiarOptions {
  /** Serve these chunks right; every other chunk asked for is answered with bytes of the right length that fail their hash. */
  honest?: (index: number) => boolean;
  /** The real bytes of honest chunks. */
  read?: (index: number) => Uint8Array;
}

/**
 * A member claiming every chunk of `manifest`: it sends the manifest on
 * request (that part is checked by the root, so a liar gains nothing lying
 * there) and answers chunk requests with wrong bytes. Returns the chunks it
 * was asked for.
 */
export function lyingMember(link: MessageLink, manifest: SwarmManifest, options: LiarOptions = {}): number[] {
  const encoded = encodeManifest(manifest);
  const layout = new ChunkLayout(manifest);
  const all = new Bitfield(layout.count);
  for (let i = 0; i < layout.count; i++) all.set(i);
  const asked: number[] = [];
  const part = Math.min(link.maxMessageSize(), 256 * 1024) - SWARM_DATA_HEADER;
  const sendParts = (frame: (at: number, slice: Uint8Array) => Uint8Array, data: Uint8Array): void => {
    for (let at = 0; at < data.length; at += part) link.send(frame(at, data.subarray(at, at + part)));
  };
  link.send(
    encodeSwarmFrame({
      type: 'hello',
      v: SWARM_PROTOCOL_VERSION,
      root: manifestRoot(encoded),
      chunks: layout.count,
      have: all.toBase64(),
    }),
  );
  link.onMessage((raw) => {
    const frame = parseSwarmFrame(raw);
    if (frame.type === 'manifest-request') {
      sendParts((at, s) => encodeDataFrame('manifest-part', at, encoded.length, s), encoded);
    } else if (frame.type === 'request') {
      asked.push(frame.index);
      const { length } = layout.place(frame.index);
      const data =
        options.honest?.(frame.index) === true && options.read !== undefined
          ? options.read(frame.index)
          : new Uint8Array(length).fill(0x5a);
      sendParts((at, s) => encodeDataFrame('chunk', frame.index, at, s), data);
    }
  });
  return asked;
}
