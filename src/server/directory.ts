/**
 * Discovery: receivers reachable by name (peer receive --name), and the list
 * of those that asked to be shown (--listed). What the server shares about
 * them lives here, beside SignalState and in the same store:
 *
 *   memory  a map in this process, for one instance
 *   Redis   peerlane:name:<name>  {nameplate, resume, listed}, with the nameplate's TTL
 *           peerlane:listed       sorted set of listed names (score 0: alphabetical)
 *
 * A name only stands for a nameplate. It is held while the waiter it was
 * reserved for still holds that nameplate (same reclaim token), so an entry
 * left behind (a receiver that paired or left through another instance, an
 * instance that died) is dead without anyone deleting it: it is not listed,
 * and the name is free again. Joining by name claims the nameplate only if
 * that same waiter still holds it, so a name never leads to someone else.
 */
import type { Redis } from 'ioredis';
import { parseNameEntry } from './records.js';
import type { Directory, NameEntry, SignalState, Waiter } from './types.js';

/** Join the receiver called `name`: its nameplate, taken as a join by nameplate would take it. */
export async function claimByName(
  state: SignalState,
  name: string,
): Promise<{ nameplate: string; host: Waiter } | undefined> {
  const entry = await state.directory.lookup(name);
  if (entry === undefined) return undefined;
  const host = await state.claim(entry.nameplate, entry.resume);
  if (host === undefined) return undefined;
  await state.directory.remove(name, entry.resume);
  return { nameplate: entry.nameplate, host };
}

/** One instance alone. `held` says whether a nameplate is still waited under with that token. */
export class MemoryDirectory implements Directory {
  private readonly names = new Map<string, NameEntry & { expires: number }>();

  /** `now`: milliseconds, what names expire by (the server's clock, as for its nameplates). */
  constructor(
    private readonly held: (nameplate: string, resume: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  private alive(name: string): (NameEntry & { expires: number }) | undefined {
    const entry = this.names.get(name);
    if (entry === undefined) return undefined;
    if (entry.expires > this.now() && this.held(entry.nameplate, entry.resume)) return entry;
    this.names.delete(name);
    return undefined;
  }

  async reserve(name: string, entry: NameEntry, ttlMs: number): Promise<boolean> {
    if (this.alive(name) !== undefined) return false;
    this.names.set(name, { ...entry, expires: this.now() + ttlMs });
    return true;
  }

  async lookup(name: string): Promise<NameEntry | undefined> {
    return this.alive(name);
  }

  async remove(name: string, resume: string): Promise<void> {
    if (this.names.get(name)?.resume === resume) this.names.delete(name);
  }

  async list(max: number): Promise<string[]> {
    const listed = [...this.names.keys()].filter((name) => this.alive(name)?.listed === true);
    return listed.sort().slice(0, max);
  }
}

const NAME_PREFIX = 'peerlane:name:';
const LISTED_KEY = 'peerlane:listed';

/** Whether name entry `v` (JSON or false) is still held; ARGV[1] is the nameplate key prefix. */
const HELD = `
local function held(v)
  if not v then return false end
  local e = cjson.decode(v)
  local w = redis.call('GET', ARGV[1] .. e.nameplate)
  return w ~= false and cjson.decode(w).resume == e.resume
end`;

const RESERVE = `${HELD}
if held(redis.call('GET', KEYS[1])) then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if ARGV[5] == '1' then redis.call('ZADD', KEYS[2], 0, ARGV[4]) else redis.call('ZREM', KEYS[2], ARGV[4]) end
return 1`;

const REMOVE = `
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).resume == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 0`;

// Walks the set alphabetically, dropping dead names as it meets them: each is dropped once.
const LIST = `${HELD}
local max = tonumber(ARGV[3])
local out, from = {}, '-'
while #out < max do
  local names = redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, max)
  if #names == 0 then break end
  for _, n in ipairs(names) do
    if not held(redis.call('GET', ARGV[2] .. n)) then redis.call('ZREM', KEYS[1], n)
    elseif #out < max then table.insert(out, n) end
  end
  from = '(' .. names[#names]
end
return out`;

type Scripted = Redis & {
  nameReserve(...args: (string | number)[]): Promise<number>;
  nameRemove(...args: string[]): Promise<number>;
  nameList(...args: (string | number)[]): Promise<string[]>;
};

/** Shared by every instance on the same Redis; `npPrefix` is where RedisState keeps nameplates. */
export class RedisDirectory implements Directory {
  private readonly redis: Scripted;

  constructor(
    redis: Redis,
    private readonly npPrefix: string,
  ) {
    this.redis = redis as Scripted;
    this.redis.defineCommand('nameReserve', { numberOfKeys: 2, lua: RESERVE });
    this.redis.defineCommand('nameRemove', { numberOfKeys: 2, lua: REMOVE });
    this.redis.defineCommand('nameList', { numberOfKeys: 1, lua: LIST });
  }

  async reserve(name: string, entry: NameEntry, ttlMs: number): Promise<boolean> {
    const json = JSON.stringify(entry);
    const ok = await this.redis.nameReserve(
      NAME_PREFIX + name,
      LISTED_KEY,
      this.npPrefix,
      json,
      ttlMs,
      name,
      entry.listed ? '1' : '0',
    );
    return ok === 1;
  }

  async lookup(name: string): Promise<NameEntry | undefined> {
    const value = await this.redis.get(NAME_PREFIX + name);
    return value === null ? undefined : parseNameEntry(value);
  }

  async remove(name: string, resume: string): Promise<void> {
    await this.redis.nameRemove(NAME_PREFIX + name, LISTED_KEY, resume, name);
  }

  async list(max: number): Promise<string[]> {
    return this.redis.nameList(LISTED_KEY, this.npPrefix, NAME_PREFIX, max);
  }
}
