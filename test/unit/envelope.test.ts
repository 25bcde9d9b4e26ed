import { describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/core/signaling/protocol.js';
import { decodeEnvelopes, encodeEnvelope } from '../../src/server/envelope.js';
import type { Envelope } from '../../src/server/types.js';

const ENVELOPES: Envelope[] = [
  {
    to: 7,
    kind: 'paired',
    from: { instance: '0123456789abcdef', client: 42 },
    sid: 'AAAAAAAAAAAAAAAAAAAAAA',
  },
  // A payload with a newline, a space and non-ASCII: the frame is JSON, so still one line.
  { to: 7, kind: 'relay', frame: encodeMessage({ type: 'relay', payload: 'a b\nc — ✓ 🚀' }) },
  { to: 9, kind: 'left' },
  {
    to: 11,
    kind: 'swarm',
    swarm: 'ab'.repeat(32),
    frame: encodeMessage({ type: 'member', swarm: 'ab'.repeat(32), member: 'A'.repeat(22), joined: true }),
  },
];

describe('instance envelopes', () => {
  it('come back as they went, several to a batch, in order', () => {
    const batch = ENVELOPES.map(encodeEnvelope).join('');
    expect(decodeEnvelopes(batch)).toEqual(ENVELOPES);
  });

  it('carry a relayed frame byte for byte, ready to write', () => {
    const frame = encodeMessage({ type: 'relay', payload: 'x'.repeat(1000) });
    const [decoded] = decodeEnvelopes(encodeEnvelope({ to: 1, kind: 'relay', frame }));
    expect(decoded).toEqual({ to: 1, kind: 'relay', frame });
  });

  it('skip lines that are not envelopes, keeping the rest', () => {
    const good = encodeEnvelope({ to: 3, kind: 'left' });
    const junk = [
      '',
      'x 1',
      'l',
      'l one',
      'l 1 2',
      'r 5',
      'p 1 abc',
      'p 1 abc two',
      '{"to":1}',
      's 1',
      's 1 abc',
    ];
    expect(decodeEnvelopes([...junk, ''].join('\n') + good)).toEqual([{ to: 3, kind: 'left' }]);
  });
});
