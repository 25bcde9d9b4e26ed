/**
 * FramedLink's account of how a transfer ended: a lost link (to reconnect
 * over) or a failure one side stated (to give up on).
 */
import { describe, expect, it } from 'vitest';
import { PeerlaneError, toPeerlaneError } from '../../src/core/errors.js';
import { FramedLink } from '../../src/core/transfer/framed-link.js';
import { encodeControlBytes } from '../../src/core/transfer/protocol.js';
import { memoryLinkPair } from '../../src/testing/memory-link.js';

const QUIET = { pingIntervalMs: 60_000, idleTimeoutMs: 60_000 };

describe('FramedLink.lossBehind', () => {
  it('a send that finds the link cut, before the close grace ends, is a lost link', () => {
    const { a, b } = memoryLinkPair();
    const framed = new FramedLink(a, QUIET);
    b.close();
    let thrown: unknown;
    try {
      framed.sendRaw(encodeControlBytes({ type: 'end' }));
    } catch (err) {
      thrown = err;
    }
    expect(toPeerlaneError(thrown).code).toBe('PEER_LOST');
    // The loss itself is reported only after the grace for a last ERROR frame...
    expect(framed.lostReason).toBeUndefined();
    // ...but the session must reconnect all the same, not end with PEER_LOST.
    expect(framed.lossBehind(thrown)).toBe('link-closed');
    framed.stop();
  });

  it('a failure either side stated is not a loss, on an open link or a closed one', () => {
    const { a, b } = memoryLinkPair();
    const framed = new FramedLink(a, QUIET);
    expect(framed.lossBehind(new PeerlaneError('PEER_LOST', 'said by the peer'))).toBeUndefined();
    b.close();
    expect(framed.lossBehind(new PeerlaneError('HASH_MISMATCH', 'bad data'))).toBeUndefined();
    framed.stop();
  });
});
