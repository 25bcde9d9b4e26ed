/** One instance's shared state, on a clock the test moves: nameplates expire by it, and so do its buckets. */
import { describe, expect, it } from 'vitest';
import { MemoryState } from '../../src/server/state.js';

function state() {
  const clock = { now: 10_000 };
  return { s: new MemoryState(undefined, () => clock.now), clock };
}

describe('MemoryState on an injected clock', () => {
  it('lets a nameplate be claimed until its TTL passes, and not after', async () => {
    const { s, clock } = state();
    const early = await s.allocate({ instance: s.instance, client: 1 }, 1_000);
    const late = await s.allocate({ instance: s.instance, client: 2 }, 1_000);
    clock.now += 999;
    expect(await s.claim(early)).toEqual({ instance: s.instance, client: 1 });
    clock.now += 1;
    expect(await s.claim(late)).toBeUndefined();
    expect(s.size).toBe(0); // claimed or not, the nameplate is forgotten
  });

  it('reclaims with the time the TTL has left', async () => {
    const { s, clock } = state();
    const waiter = { instance: s.instance, client: 1, resume: 'token' };
    const nameplate = await s.allocate(waiter, 1_000);
    clock.now += 400;
    expect(await s.reclaim(nameplate, 'token', { instance: s.instance, client: 2 })).toBe(600);
    clock.now += 600;
    expect(await s.reclaim(nameplate, 'token', { instance: s.instance, client: 3 })).toBeUndefined();
  });

  it('refills its own register/join buckets by the same clock', async () => {
    const { s, clock } = state();
    const bucket = { ratePerMinute: 60, burst: 1 }; // one a second
    expect(await s.take('a', bucket)).toBe(true);
    expect(await s.take('a', bucket)).toBe(false);
    clock.now += 1_000;
    expect(await s.take('a', bucket)).toBe(true);
  });
});
