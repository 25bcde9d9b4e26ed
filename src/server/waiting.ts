/**
 * The receivers waiting on one instance, by address group (address-group.ts),
 * and how the server shares its places (SIGNAL_MAX_NAMEPLATES) when they run out.
 *
 * The policy, fair share: while there is room, anyone may wait. Once every
 * place is taken, a register from a group holding at least two fewer waiters
 * than the group holding the most takes the place of that group's oldest
 * waiter (which gets SERVER_BUSY); anyone else gets SERVER_BUSY. So a group
 * with one receiver waiting is never pushed out, a newcomer is turned away only
 * when every group holds about as many as it would, and filling the server
 * takes as many addresses (IPv6: prefixes) as it has places, not a few hundred.
 */

export class WaitingRoom<T extends { readonly group: string }> {
  private readonly all = new Set<T>();
  /** Each group's waiters, oldest first (a Set keeps insertion order). */
  private readonly byGroup = new Map<string, Set<T>>();
  /** Groups by how many waiters they hold, so that the largest is found in O(1). */
  private readonly bySize = new Map<number, Set<string>>();
  private largest = 0;

  get size(): number {
    return this.all.size;
  }

  has(waiter: T): boolean {
    return this.all.has(waiter);
  }

  add(waiter: T): void {
    if (this.all.has(waiter)) return;
    this.all.add(waiter);
    let members = this.byGroup.get(waiter.group);
    if (members === undefined) {
      members = new Set();
      this.byGroup.set(waiter.group, members);
    }
    this.resize(waiter.group, members.size, members.size + 1);
    members.add(waiter);
  }

  /** Forget `waiter`; false if it was not waiting. */
  delete(waiter: T): boolean {
    if (!this.all.delete(waiter)) return false;
    const members = this.byGroup.get(waiter.group);
    if (members === undefined) return true;
    members.delete(waiter);
    this.resize(waiter.group, members.size + 1, members.size);
    if (members.size === 0) this.byGroup.delete(waiter.group);
    return true;
  }

  /** The waiter a register from `group` may push out when every place is taken (see the policy above). */
  displaceable(group: string): T | undefined {
    const mine = this.byGroup.get(group)?.size ?? 0;
    if (this.largest < mine + 2) return undefined;
    const [biggest] = this.bySize.get(this.largest) ?? [];
    if (biggest === undefined) return undefined;
    const [oldest] = this.byGroup.get(biggest) ?? [];
    return oldest;
  }

  private resize(group: string, from: number, to: number): void {
    if (from > 0) {
      const set = this.bySize.get(from);
      set?.delete(group);
      if (set?.size === 0) this.bySize.delete(from);
    }
    if (to > 0) {
      let set = this.bySize.get(to);
      if (set === undefined) {
        set = new Set();
        this.bySize.set(to, set);
      }
      set.add(group);
    }
    if (to > this.largest) this.largest = to;
    while (this.largest > 0 && !this.bySize.has(this.largest)) this.largest--;
  }
}
