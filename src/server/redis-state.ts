/**
 * Signal server state in Redis (ioredis), shared by every instance that uses
 * the same REDIS_URL:
 *
 *   peerlane:np:<nameplate>   the waiter, JSON; SET NX PX: allocation is atomic, the TTL is the nameplate's
 *   peerlane:live:<instance>  set while the instance runs (PX, refreshed); a waiter of a dead instance
 *                             is kept for its reclaim rather than paired with a joiner nobody would answer
 *   peerlane:rl:<address>     the address's register/join token bucket
 *   peerlane:to:<instance>    pub/sub channel: envelopes for that instance's clients (envelope.ts)
 *   peerlane:name:…, :listed  receivers reachable by name (directory.ts)
 *   peerlane:swarm:<id>       a swarm's members (swarm-book.ts)
 *
 * Every read-modify-write is one Lua script, so it is atomic across instances,
 * and a register or a join is one script (one round trip), payment included.
 */
import { randomInt } from 'node:crypto';
import { Redis } from 'ioredis';
import { PeerlaneError } from '../core/errors.js';
import { RedisDirectory } from './directory.js';
import { decodeEnvelopes, encodeEnvelope } from './envelope.js';
import { parseWaiter } from './records.js';
import { newInstanceId, rateLimited } from './state.js';
import { RedisSwarmBook } from './swarm-book.js';
import type {
  BucketSpec,
  ClientRef,
  Directory,
  Envelope,
  Payer,
  SignalState,
  SwarmBook,
  Waiter,
} from './types.js';

const PREFIX = 'peerlane:';
const LIVE_MS = 10_000;
const HEARTBEAT_MS = 3_000;
/** Tries at each nameplate length before a longer one; a collision means that length is getting full. */
const TRIES_PER_LENGTH = 3;
const MAX_RANGE = 1_000_000;

/**
 * Lua: spend one token of bucket `key`; 1 if there was one, else 0. The time is
 * Redis's own, one clock for every instance, unless `clock` (milliseconds) is
 * given: instances given a clock (tests) must all be given the same one.
 */
const TAKE_FN = `
local function take(key, burst, perMs, clock)
  local now
  if clock ~= '' then now = tonumber(clock) else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
  end
  local b = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = tonumber(b[1]) or burst
  local at = tonumber(b[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - at) * perMs)
  local ok = 0
  if tokens >= 1 then tokens = tokens - 1; ok = 1 end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', key, math.ceil((burst - tokens) / perMs) + 1000)
  return ok
end`;

/**
 * Lua: with a bucket (ARGV[1] burst, not ''; ARGV[2] per ms; ARGV[3] clock),
 * spend a token of KEYS[1] first, or return -1.
 */
const PAY = `${TAKE_FN}
if ARGV[1] ~= '' and take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]) == 0 then return -1 end`;

const TAKE = `${TAKE_FN}
return take(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3])`;

// Holds the first free of the candidate nameplates (ARGV[7], space-separated: one argument,
// not fifteen, is much less work for ioredis) under prefix ARGV[6], and returns it; 0 if none was.
const ALLOCATE = `${PAY}
for nameplate in string.gmatch(ARGV[7], '%d+') do
  if redis.call('SET', ARGV[6] .. nameplate, ARGV[4], 'PX', ARGV[5], 'NX') then return nameplate end
end
return 0`;

const CLAIM = `${PAY}
local v = redis.call('GET', KEYS[2])
if not v then return false end
local w = cjson.decode(v)
if redis.call('EXISTS', ARGV[4] .. w.instance) == 0 then return false end
if ARGV[5] ~= '' and w.resume ~= ARGV[5] then return false end
redis.call('DEL', KEYS[2])
return v`;

const RELEASE = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local w = cjson.decode(v)
if w.instance == ARGV[1] and tostring(w.client) == ARGV[2] then redis.call('DEL', KEYS[1]) end
return 0`;

const RECLAIM = `
local v = redis.call('GET', KEYS[1])
if not v then return -1 end
if cjson.decode(v).resume ~= ARGV[1] then return -1 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
return ttl`;

/** A bucket's key and arguments for PAY: an empty burst pays nothing; an empty clock is Redis's. */
type Payment = [bucketKey: string, burst: number | '', perMs: number, clock: number | ''];

type Scripted = Redis & {
  allocate(
    ...args: [...Payment, waiter: string, ttlMs: number, npPrefix: string, nameplates: string]
  ): Promise<string | number>;
  claim(
    bucketKey: string,
    key: string,
    burst: number | '',
    perMs: number,
    clock: number | '',
    livePrefix: string,
    resume: string,
  ): Promise<string | number | null>;
  release(key: string, instance: string, client: string): Promise<number>;
  reclaim(key: string, resume: string, waiter: string): Promise<number>;
  take(key: string, burst: number, perMs: number, clock: number | ''): Promise<number>;
};

/** Nameplates to try, shortest first: TRIES_PER_LENGTH at each length, all in one round trip. */
function candidates(): string {
  const out: number[] = [];
  for (let range = 100; range <= MAX_RANGE; range *= 10) {
    for (let i = 0; i < TRIES_PER_LENGTH; i++) out.push(randomInt(1, range));
  }
  return out.join(' ');
}

export class RedisState implements SignalState {
  readonly instance = newInstanceId();
  readonly shared = true;
  readonly directory: Directory;
  readonly swarms: SwarmBook;
  private readonly redis: Scripted;
  private readonly sub: Redis;
  private heartbeat: NodeJS.Timeout | undefined;
  private handler: ((envelope: Envelope) => void) | undefined;

  private constructor(
    url: string,
    private readonly now: (() => number) | undefined,
  ) {
    // Fail fast on a dead Redis rather than queueing commands forever.
    const options = { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true };
    this.redis = new Redis(url, options) as Scripted;
    this.sub = new Redis(url, options);
    for (const c of [this.redis, this.sub]) c.on('error', () => {}); // surfaced by commands and ping()
    this.redis.defineCommand('allocate', { numberOfKeys: 1, lua: ALLOCATE });
    this.redis.defineCommand('claim', { numberOfKeys: 2, lua: CLAIM });
    this.redis.defineCommand('release', { numberOfKeys: 1, lua: RELEASE });
    this.redis.defineCommand('reclaim', { numberOfKeys: 1, lua: RECLAIM });
    this.redis.defineCommand('take', { numberOfKeys: 1, lua: TAKE });
    this.directory = new RedisDirectory(this.redis, `${PREFIX}np:`);
    this.swarms = new RedisSwarmBook(this.redis, PREFIX);
    this.sub.on('message', (_channel: string, message: string) => {
      for (const envelope of decodeEnvelopes(message)) this.handler?.(envelope);
    });
  }

  /**
   * Connect, subscribe to this instance's channel, and start announcing it as
   * live. `now`: milliseconds, what the buckets refill by instead of Redis's
   * TIME (tests; every instance on the same Redis must then share it).
   */
  static async connect(url: string, now?: () => number): Promise<RedisState> {
    const state = new RedisState(url, now);
    try {
      await Promise.all([state.redis.connect(), state.sub.connect()]);
      await state.sub.subscribe(`${PREFIX}to:${state.instance}`);
      await state.beat();
    } catch (err) {
      state.redis.disconnect();
      state.sub.disconnect();
      throw new PeerlaneError('BAD_CONFIG', `cannot use Redis at REDIS_URL: ${(err as Error).message}`);
    }
    state.heartbeat = setInterval(() => void state.beat().catch(() => {}), HEARTBEAT_MS);
    state.heartbeat.unref();
    return state;
  }

  private async beat(): Promise<void> {
    await this.redis.set(`${PREFIX}live:${this.instance}`, '1', 'PX', LIVE_MS);
  }

  async allocate(waiter: Waiter, ttlMs: number, payer?: Payer): Promise<string> {
    const value = JSON.stringify(waiter);
    // Paid once: past the first try every candidate was taken, which is the server's doing.
    for (let paying = payer; ; paying = undefined) {
      const pay = this.payment(paying);
      const found = await this.redis.allocate(...pay, value, ttlMs, `${PREFIX}np:`, candidates());
      if (found === -1) throw rateLimited();
      if (typeof found === 'string') return found;
    }
  }

  async claim(nameplate: string, resume = '', payer?: Payer): Promise<Waiter | undefined> {
    const [bucketKey, ...bucket] = this.payment(payer);
    const key = `${PREFIX}np:${nameplate}`;
    const value = await this.redis.claim(bucketKey, key, ...bucket, `${PREFIX}live:`, resume);
    if (value === -1) throw rateLimited();
    return typeof value === 'string' ? parseWaiter(value) : undefined;
  }

  async release(nameplate: string, waiter: ClientRef): Promise<void> {
    const key = `${PREFIX}np:${nameplate}`;
    await this.redis.release(key, waiter.instance, String(waiter.client));
  }

  async reclaim(nameplate: string, resume: string, to: ClientRef): Promise<number | undefined> {
    const waiter: Waiter = { instance: to.instance, client: to.client, resume };
    const key = `${PREFIX}np:${nameplate}`;
    const ttl = await this.redis.reclaim(key, resume, JSON.stringify(waiter));
    return ttl > 0 ? ttl : undefined;
  }

  async take(address: string, bucket: BucketSpec): Promise<boolean> {
    const key = `${PREFIX}rl:${address}`;
    const perMs = bucket.ratePerMinute / 60_000;
    return (await this.redis.take(key, bucket.burst, perMs, this.now?.() ?? '')) === 1;
  }

  private payment(payer: Payer | undefined): Payment {
    if (payer === undefined) return [`${PREFIX}rl:`, '', 0, ''];
    const { burst, ratePerMinute } = payer.bucket;
    return [`${PREFIX}rl:${payer.address}`, burst, ratePerMinute / 60_000, this.now?.() ?? ''];
  }

  async publish(instance: string, envelope: Envelope): Promise<void> {
    await this.redis.publish(`${PREFIX}to:${instance}`, encodeEnvelope(envelope));
  }

  onEnvelope(handler: (envelope: Envelope) => void): void {
    this.handler = handler;
  }

  async ping(): Promise<void> {
    if (this.redis.status !== 'ready') throw new Error(`Redis connection is ${this.redis.status}`);
    await this.redis.ping();
  }

  /**
   * Stop announcing this instance and disconnect. Its waiters stay in Redis
   * until their TTL, for their clients to reclaim on another instance.
   */
  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    if (this.redis.status === 'ready') await this.redis.del(`${PREFIX}live:${this.instance}`).catch(() => {});
    this.redis.disconnect();
    this.sub.disconnect();
  }
}
