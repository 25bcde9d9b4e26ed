/**
 * Who is in which swarm, for the tracker (swarm.ts), beside the rest of the
 * shared state and in the same store:
 *
 *   memory  a map in this process, for one instance
 *   Redis   peerlane:swarm:<id>  hash: member id → {instance, client, resume: token}, JSON
 *
 * A member leaves when its connection closes (its instance removes it, if
 * that connection still holds it: a member that came back on a new one is
 * not removed by its old one's end). An instance that dies cannot: its
 * members are skipped, and removed, by the next join of the swarm
 * (peerlane:live:<instance> is gone), and a hash left empty is deleted by
 * Redis itself.
 */
import type { Redis } from 'ioredis';
import { parseWaiter } from './records.js';
import type { ClientRef, MemberHolder, SwarmBook, SwarmJoin, SwarmMember } from './types.js';

function sameClient(a: ClientRef, b: ClientRef): boolean {
  return a.instance === b.instance && a.client === b.client;
}

/** One instance alone. */
export class MemorySwarmBook implements SwarmBook {
  private readonly swarms = new Map<string, Map<string, MemberHolder>>();

  async join(swarm: string, member: string, holder: MemberHolder, max: number): Promise<SwarmJoin> {
    const members = this.swarms.get(swarm) ?? new Map<string, MemberHolder>();
    const held = members.get(member);
    if (held !== undefined && held.token !== holder.token) return 'taken';
    if (held === undefined && members.size >= max) return 'full';
    const others = listed(members, member);
    members.set(member, holder);
    this.swarms.set(swarm, members);
    return { others };
  }

  async leave(swarm: string, member: string, ref: ClientRef): Promise<SwarmMember[] | undefined> {
    const members = this.swarms.get(swarm);
    const held = members?.get(member);
    if (members === undefined || held === undefined || !sameClient(held, ref)) return undefined;
    members.delete(member);
    if (members.size === 0) this.swarms.delete(swarm);
    return listed(members, member);
  }

  async find(swarm: string, member: string): Promise<ClientRef | undefined> {
    return this.swarms.get(swarm)?.get(member);
  }
}

/** The members of `members` but `except`. */
function listed(members: Map<string, ClientRef>, except: string): SwarmMember[] {
  const out: SwarmMember[] = [];
  for (const [member, ref] of members) if (member !== except) out.push({ member, ref });
  return out;
}

/**
 * Lua: forget members of dead instances (ARGV[4] is the live-key prefix);
 * then make ARGV[2] (whose token is ARGV[5]) the holder of ARGV[1], as
 * MemorySwarmBook.join does. The others as [id, record, …]; -1 if taken,
 * false if full.
 */
const JOIN = `
local all = redis.call('HGETALL', KEYS[1])
local others = {}
local present = false
for i = 1, #all, 2 do
  local held = cjson.decode(all[i + 1])
  if all[i] == ARGV[1] then
    if held.resume ~= ARGV[5] then return -1 end
    present = true
  elseif redis.call('EXISTS', ARGV[4] .. held.instance) == 0 then
    redis.call('HDEL', KEYS[1], all[i])
  else
    table.insert(others, all[i])
    table.insert(others, all[i + 1])
  end
end
if not present and #others / 2 >= tonumber(ARGV[3]) then return false end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return others`;

/** Lua: remove ARGV[1] if client ARGV[3] of instance ARGV[2] holds it; the rest as [id, record, …], or false. */
const LEAVE = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return false end
local held = cjson.decode(v)
if held.instance ~= ARGV[2] or tostring(held.client) ~= ARGV[3] then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
return all`;

type Scripted = Redis & {
  swarmJoin(
    key: string,
    member: string,
    record: string,
    max: number,
    livePrefix: string,
    token: string,
  ): Promise<string[] | number | null>;
  swarmLeave(key: string, member: string, instance: string, client: string): Promise<string[] | null>;
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
    redis.defineCommand('swarmLeave', { numberOfKeys: 1, lua: LEAVE });
    this.redis = redis as Scripted;
  }

  private key(swarm: string): string {
    return `${this.prefix}swarm:${swarm}`;
  }

  async join(swarm: string, member: string, holder: MemberHolder, max: number): Promise<SwarmJoin> {
    const { instance, client, token } = holder;
    const record = JSON.stringify({ instance, client, resume: token });
    const live = `${this.prefix}live:`;
    const others = await this.redis.swarmJoin(this.key(swarm), member, record, max, live, token);
    if (others === -1) return 'taken';
    if (others === null || typeof others === 'number') return 'full';
    return { others: pairs(others) };
  }

  async leave(swarm: string, member: string, ref: ClientRef): Promise<SwarmMember[] | undefined> {
    const rest = await this.redis.swarmLeave(this.key(swarm), member, ref.instance, String(ref.client));
    return rest === null ? undefined : pairs(rest);
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
