import { describe, expect, it } from 'vitest';
import type { AddressLimiterOptions } from '../../src/server/rate-limit.js';
import { AddressLimiter } from '../../src/server/rate-limit.js';
import { WaitingRoom } from '../../src/server/waiting.js';

/** A limiter on a clock the test moves by hand. */
function limiter(options: Partial<AddressLimiterOptions> = {}) {
  const clock = { now: 1_000 };
  const l = new AddressLimiter({
    maxConnections: 2,
    ratePerMinute: 60,
    burst: 3,
    now: () => clock.now,
    ...options,
  });
  return { l, clock };
}

function takeAll(l: AddressLimiter, address: string, times: number): boolean[] {
  return Array.from({ length: times }, () => l.take(address));
}

describe('AddressLimiter connections', () => {
  it('allows up to the cap per address, counting every socket until it disconnects', () => {
    const { l } = limiter();
    expect([l.connect('a'), l.connect('a'), l.connect('a')]).toEqual([true, true, false]);
    // Another address has its own count.
    expect(l.connect('b')).toBe(true);
    expect(l.size).toEqual({ addresses: 2, connections: 4, buckets: 0 });
    // The refused socket still counts until it is gone.
    l.disconnect('a');
    expect(l.connect('a')).toBe(false);
    l.disconnect('a');
    l.disconnect('a');
    expect(l.connect('a')).toBe(true);
  });

  it('forgets an address once its last socket is gone', () => {
    const { l } = limiter();
    l.connect('a');
    l.connect('a');
    l.connect('b');
    for (const address of ['a', 'a', 'b']) l.disconnect(address);
    expect(l.size).toEqual({ addresses: 0, connections: 0, buckets: 0 });
    // A stray disconnect does not go negative.
    l.disconnect('a');
    expect(l.size.connections).toBe(0);
    expect(l.connect('a')).toBe(true);
  });
});

describe('AddressLimiter token bucket', () => {
  it('allows a burst, then one per refill interval', () => {
    const { l, clock } = limiter(); // 3 in a row, then one a second
    expect(takeAll(l, 'a', 4)).toEqual([true, true, true, false]);
    clock.now += 900;
    expect(l.take('a')).toBe(false);
    clock.now += 150;
    expect(takeAll(l, 'a', 2)).toEqual([true, false]);
  });

  it('never holds more than the burst, however long it rests', () => {
    const { l, clock } = limiter();
    takeAll(l, 'a', 3);
    clock.now += 3_600_000;
    expect(takeAll(l, 'a', 4)).toEqual([true, true, true, false]);
  });

  it('keeps one bucket per address', () => {
    const { l } = limiter();
    expect(takeAll(l, 'a', 4)).toEqual([true, true, true, false]);
    expect(takeAll(l, 'b', 3)).toEqual([true, true, true]);
    expect(l.size.buckets).toBe(2);
  });

  it('supports fractional rates', () => {
    const { l, clock } = limiter({ ratePerMinute: 0.5, burst: 1 }); // one every two minutes
    expect(takeAll(l, 'a', 2)).toEqual([true, false]);
    clock.now += 119_000;
    expect(l.take('a')).toBe(false);
    clock.now += 2_000;
    expect(l.take('a')).toBe(true);
  });
});

describe('AddressLimiter memory', () => {
  it('sweep forgets refilled buckets and keeps the others', () => {
    const { l, clock } = limiter();
    l.take('a'); // needs one second to refill
    takeAll(l, 'b', 3); // needs three
    l.sweep();
    expect(l.size.buckets).toBe(2);
    clock.now += 1_500;
    l.sweep();
    expect(l.size.buckets).toBe(1);
    // What is left of b's bucket is still enforced.
    expect(takeAll(l, 'b', 2)).toEqual([true, false]);
    clock.now += 3_000;
    l.sweep();
    expect(l.size.buckets).toBe(0);
  });

  it('past maxTracked, drops the least recently used bucket', () => {
    const { l, clock } = limiter({ maxTracked: 2 });
    takeAll(l, 'a', 3);
    takeAll(l, 'b', 3);
    clock.now += 10;
    expect(l.take('a')).toBe(false); // a is now the more recently used
    expect(l.take('c')).toBe(true);
    expect(l.size.buckets).toBe(2);
    // b was dropped, so it starts over with a full bucket; a was kept, still empty.
    expect(l.take('a')).toBe(false);
    expect(l.size.buckets).toBe(2);
    expect(takeAll(l, 'b', 3)).toEqual([true, true, true]);
    expect(l.size.buckets).toBe(2);
  });

  it('stays bounded, and cheap, under a flood of distinct addresses', () => {
    const { l } = limiter({ maxTracked: 1_000 });
    const started = performance.now();
    for (let i = 0; i < 50_000; i++) l.take(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
    expect(l.size.buckets).toBe(1_000);
    // Eviction does not scan the table: 50,000 new addresses take milliseconds, not seconds.
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('WaitingRoom (fair share of nameplates)', () => {
  const w = (group: string, n: number) => ({ group, n });

  it('offers the oldest waiter of the biggest group to a group holding at least two fewer', () => {
    const room = new WaitingRoom<{ group: string; n: number }>();
    const big = [w('a', 1), w('a', 2), w('a', 3)];
    for (const x of big) room.add(x);
    room.add(w('b', 1));
    expect(room.size).toBe(4);
    expect(room.displaceable('c')).toBe(big[0]);
    expect(room.displaceable('b')).toBe(big[0]);
    expect(room.displaceable('a')).toBeUndefined();
    room.delete(big[0] as { group: string; n: number });
    // a: 2, b: 1 — b may not take from a (it would end up with as many), c may.
    expect(room.displaceable('b')).toBeUndefined();
    expect(room.displaceable('c')).toBe(big[1]);
  });

  it('never offers a group holding one', () => {
    const room = new WaitingRoom<{ group: string; n: number }>();
    for (let i = 0; i < 5; i++) room.add(w(`g${i}`, i));
    expect(room.displaceable('new')).toBeUndefined();
    expect(room.delete(w('g0', 0))).toBe(false); // not the same object
  });
});
