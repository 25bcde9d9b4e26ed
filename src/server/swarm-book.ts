/**
 * Who is in which swarm, for the tracker (swarm.ts), beside the rest of the
 * shared state and in the same store:
 *
 *   memory  a map in this process, for one instance
 *   Redis   peerlane:swarm:<id>  hash: member id → {instance, client}, JSON
 *
 * A member leaves when its connection closes (its instance removes it). An
 * instance that dies cannot: its members are skipped, and removed, by the
 * next join of the swarm (peerlane:live:<instance> is gone), and a hash left
 * empty is deleted by Redis itself.
 */
import type { Redis } from 'ioredis';
import { parseWaiter } from './records.js';
import type { ClientRef, SwarmBook, SwarmMember } from './types.js';

/** One instance alone. */
export class MemorySwarmBook implements SwarmBook {
  private readonly swarms = new Map<string, Map<string, ClientRef>>();

  async join(swarm: string, member: string, ref: ClientRef, max: number): Promise<SwarmMember[] | undefined> {
    const members = this.swarms.get(swarm) ?? new Map<string, ClientRef>();
    if (members.size >= max) return undefined;
    const others = [...members].map(([id, at]) => ({ member: id, ref: at }));
    members.set(member, ref);
    this.swarms.set(swarm, members);
    return others;
  }

  async leave(swarm: string, member: string): Promise<SwarmMember[]> {
    const members = this.swarms.get(swarm);
    if (members === undefined) return [];
    members.delete(member);
    if (members.size === 0) this.swarms.delete(swarm);
    return [...members].map(([id, ref]) => ({ member: id, ref }));
  }

  async find(swarm: string, member: string): Promise<ClientRef | undefined> {
    return this.swarms.get(swarm)?.get(member);
  }
}

/**
 * Lua: forget members of dead instances (ARGV[4] is the live-key prefix),
 * then add ARGV[1] → ARGV[2] unless ARGV[3] members remain; the others as
 * [id, record, …], or false if full.
 */
const JOIN = `
local all = redis.call('HGETALL', KEYS[1])
local others = {}
for i = 1, #all, 2 do
  local instance = cjson.decode(all[i + 1]).instance
  if redis.call('EXISTS', ARGV[4] .. instance) == 0 then
    redis.call('HDEL', KEYS[1], all[i])
  else
    table.insert(others, all[i])
    table.insert(others, all[i + 1])
  end
end
if #others / 2 >= tonumber(ARGV[3]) then return false end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return others`;

type Scripted = Redis & {
  swarmJoin(
    key: string,
    member: string,
    record: string,
    max: number,
    livePrefix: string,
  ): Promise<string[] | null>;
};

/** Shared by every instance on the same Redis. */
export class RedisSwarmBook implements SwarmBook {
  private readonly redis: Scripted;

  /** `prefix`: the state's key prefix (`peerlane:`). */
  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    redis.defineCommand('swarmJoin', { numberOfKeys: 1, lua: JOIN });
    this.redis = redis as Scripted;
  }

  private key(swarm: string): string {
    return `${this.prefix}swarm:${swarm}`;
  }

  async join(swarm: string, member: string, ref: ClientRef, max: number): Promise<SwarmMember[] | undefined> {
    const record = JSON.stringify({ instance: ref.instance, client: ref.client });
    const others = await this.redis.swarmJoin(this.key(swarm), member, record, max, `${this.prefix}live:`);
    return others === null ? undefined : pairs(others);
  }

  async leave(swarm: string, member: string): Promise<SwarmMember[]> {
    const key = this.key(swarm);
    const [, all] = (await this.redis.multi().hdel(key, member).hgetall(key).exec()) ?? [];
    const record = (all?.[1] ?? {}) as Record<string, string>;
    return Object.entries(record).map(([id, raw]) => ({ member: id, ref: toRef(raw) }));
  }

  async find(swarm: string, member: string): Promise<ClientRef | undefined> {
    const raw = await this.redis.hget(this.key(swarm), member);
    return raw === null ? undefined : toRef(raw);
  }
}

function toRef(raw: string): ClientRef {
  const { instance, client } = parseWaiter(raw);
  return { instance, client };
}

/** [id, record, id, record, …] as members. */
function pairs(flat: string[]): SwarmMember[] {
  const out: SwarmMember[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2)
    out.push({ member: flat[i] ?? '', ref: toRef(flat[i + 1] ?? '') });
  return out;
}
