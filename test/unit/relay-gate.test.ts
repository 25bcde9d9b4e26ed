import { describe, expect, it } from 'vitest';
import { AddressQuota, ByteGate } from '../../src/server/relay/gate.js';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('ByteGate', () => {
  it('lets a burst through, then asks for the wait that pays the debt at its rate', () => {
    const c = clock();
    const gate = new ByteGate(4 * 1024 * 1024, c.now); // 4 MiB/s: burst is 1 MiB
    expect(gate.take(1024 * 1024)).toBe(0);
    expect(gate.take(1024 * 1024)).toBe(250); // 1 MiB of debt at 4 MiB/s
    c.advance(250);
    expect(gate.take(0)).toBe(0);
  });

  it('never lets less than one whole record through at a slow rate', () => {
    const gate = new ByteGate(1024, clock().now);
    expect(gate.take(256 * 1024)).toBe(0);
  });

  it('with no cap never waits', () => {
    const gate = new ByteGate(0, clock().now);
    expect(gate.take(1e12)).toBe(0);
  });
});

describe('AddressQuota', () => {
  it('counts each address apart, refuses past the quota, and starts over when the window ends', () => {
    const c = clock();
    const quota = new AddressQuota(1000, 60_000, c.now);
    expect(quota.spend('10.0.0.1', 900)).toBe(true);
    expect(quota.spend('10.0.0.2', 900)).toBe(true);
    expect(quota.allows('10.0.0.1')).toBe(true);
    expect(quota.spend('10.0.0.1', 200)).toBe(false);
    expect(quota.allows('10.0.0.1')).toBe(false);
    c.advance(60_000);
    expect(quota.allows('10.0.0.1')).toBe(true);
    expect(quota.spend('10.0.0.1', 1000)).toBe(true);
  });

  it('with no quota allows everything', () => {
    const quota = new AddressQuota(0, 1000, clock().now);
    expect(quota.spend('10.0.0.1', 1e12)).toBe(true);
  });
});
