import { describe, expect, it } from 'vitest';
import { PeerlaneError } from '../../src/core/errors.js';
import { ReceiveWindow, SendCredit } from '../../src/core/transfer/credit.js';
import { RECEIVE_WINDOW } from '../../src/core/transfer/protocol.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(PeerlaneError);
    return (err as PeerlaneError).code;
  }
}

describe('SendCredit', () => {
  it('starts empty, grows with grants and shrinks as bytes are sent', () => {
    const credit = new SendCredit();
    expect(credit.available).toBe(0);
    credit.grant(100);
    credit.spend(30);
    expect(credit.available).toBe(70);
    credit.grant(5);
    expect(credit.available).toBe(75);
  });
});

describe('ReceiveWindow', () => {
  it('grants RECEIVE_WINDOW by default', () => {
    expect(new ReceiveWindow().size).toBe(RECEIVE_WINDOW);
  });

  it('takes a full window in flight, and refuses one byte more with BAD_FRAME', () => {
    const window = new ReceiveWindow(1000, 100);
    window.arrive(600);
    window.arrive(400);
    expect(codeOf(() => window.arrive(1))).toBe('BAD_FRAME');
  });

  it('makes room for as much as was written', () => {
    const window = new ReceiveWindow(1000, 100);
    window.arrive(1000);
    window.written(300);
    window.arrive(300);
    expect(codeOf(() => window.arrive(1))).toBe('BAD_FRAME');
  });

  it('returns credit in batches, and all that is owed on flush', () => {
    const window = new ReceiveWindow(10_000, 100);
    window.arrive(250);
    expect(window.written(60)).toBe(0);
    expect(window.written(60)).toBe(120);
    expect(window.written(10)).toBe(0);
    expect(window.flush()).toBe(10);
    expect(window.flush()).toBe(0);
  });
});
