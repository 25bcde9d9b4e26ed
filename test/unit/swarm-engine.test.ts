/**
 * The swarm engine over in-memory links: a sharer feeds getters that trade
 * with each other, every chunk checked before it is kept, liars banned and
 * abusive members cut off.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { Bitfield } from '../../src/core/swarm/bitfield.js';
import type { ChunkStore, SwarmContent, SwarmEngineEvents } from '../../src/core/swarm/engine.js';
import { MAX_PENDING_WRITES, SwarmEngine, TICK_MS } from '../../src/core/swarm/engine.js';
import type { SwarmManifest } from '../../src/core/swarm/manifest.js';
import { ChunkLayout, encodeManifest, manifestRoot } from '../../src/core/swarm/manifest.js';
import {
  encodeSwarmFrame,
  MAX_QUEUED_REQUESTS,
  parseSwarmFrame,
  REQUESTS_IN_FLIGHT,
  SWARM_PROTOCOL_VERSION,
} from '../../src/core/swarm/protocol.js';
import { systemClock } from '../../src/core/transfer/ports.js';
import { memoryLinkPair } from '../../src/testing/memory-link.js';
import { lyingMember } from '../../src/testing/swarm-members.js';
import { nodeSha256 } from '../../src/transfer/sha256.js';

const CHUNK = 16 * 1024;

function sha(data: Uint8Array): string {
  const h = nodeSha256();
  h.update(data);
  return h.digestHex();
}

/** One file of `size` random bytes, its manifest and root. */
function content(size: number): { data: Uint8Array; manifest: SwarmManifest; root: string } {
  const data = new Uint8Array(randomBytes(size));
  const chunks: string[] = [];
  for (let at = 0; at < size; at += CHUNK) {
    const h = nodeSha256();
    h.update(data.subarray(at, at + CHUNK));
    chunks.push(h.digestHex());
  }
  const manifest = { chunkSize: CHUNK, files: [{ name: 'f.bin', size, mode: 0o644 }], chunks };
  return { data, manifest, root: manifestRoot(encodeManifest(manifest)) };
}

/** A store over one buffer, counting writes per chunk. */
function memoryStore(manifest: SwarmManifest, data: Uint8Array): ChunkStore & { writes: number[] } {
  const layout = new ChunkLayout(manifest);
  const writes: number[] = [];
  return {
    writes,
    read: async (i) => {
      const { offset, length } = layout.place(i);
      return data.slice(offset, offset + length);
    },
    write: async (i, chunk) => {
      writes.push(i);
      data.set(chunk, layout.place(i).offset);
    },
  };
}

const engines: SwarmEngine[] = [];
const timers: NodeJS.Timeout[] = [];
afterEach(() => {
  for (const e of engines.splice(0)) e.stop();
  for (const t of timers.splice(0)) clearInterval(t);
});

function engine(
  root: string,
  c: SwarmContent | undefined,
  events: SwarmEngineEvents = {},
  size = 0,
): SwarmEngine {
  const e = new SwarmEngine({
    root,
    ...(c !== undefined ? { content: c } : {}),
    openContent: async (manifest) => ({
      manifest,
      store: memoryStore(manifest, new Uint8Array(size)),
      have: new Bitfield(new ChunkLayout(manifest).count),
    }),
    hasher: nodeSha256,
    clock: systemClock,
    events,
  });
  engines.push(e);
  timers.push(setInterval(() => e.tick(), TICK_MS));
  return e;
}

function sharer(c: ReturnType<typeof content>, events: SwarmEngineEvents = {}): SwarmEngine {
  const have = new Bitfield(c.manifest.chunks.length);
  for (let i = 0; i < have.size; i++) have.set(i);
  return engine(c.root, { manifest: c.manifest, store: memoryStore(c.manifest, c.data), have }, events);
}

/**
 * A sharer whose store never answers a read: the first request keeps its
 * member's upload slot, and later ones queue.
 */
function stalledSharer(
  c: ReturnType<typeof content>,
  uploadSlots: number,
  events: SwarmEngineEvents = {},
): SwarmEngine {
  const have = new Bitfield(c.manifest.chunks.length);
  for (let i = 0; i < have.size; i++) have.set(i);
  const s = new SwarmEngine({
    root: c.root,
    content: {
      manifest: c.manifest,
      have,
      store: { read: () => new Promise(() => {}), write: async () => {} },
    },
    hasher: nodeSha256,
    clock: systemClock,
    uploadSlots,
    events,
  });
  engines.push(s);
  return s;
}

/** A getter without the manifest, and a promise of its bytes once complete. */
function getter(c: ReturnType<typeof content>, events: SwarmEngineEvents = {}) {
  let resolve!: () => void;
  const complete = new Promise<void>((r) => {
    resolve = r;
  });
  const e = engine(c.root, undefined, { ...events, onComplete: () => resolve() }, c.data.length);
  /** The getter's bytes once complete, as a SHA-256 (toEqual on large arrays takes seconds). */
  const bytes = async (): Promise<string> => {
    await complete;
    const layout = e.chunkLayout as ChunkLayout;
    expect(e.manifest).toEqual(c.manifest);
    const out = new Uint8Array(layout.totalBytes);
    for (let i = 0; i < layout.count; i++) {
      const chunk = await (e as unknown as { content: SwarmContent }).content.store.read(i);
      out.set(chunk, layout.place(i).offset);
    }
    return sha(out);
  };
  return { engine: e, complete, bytes };
}

function connect(x: SwarmEngine, xId: string, y: SwarmEngine, yId: string, delayMs = 0): void {
  const { a, b } = memoryLinkPair({ delayMs });
  x.addMember(yId, a);
  y.addMember(xId, b);
}

describe('swarm engine', () => {
  it('one sharer to two getters: both verified, and the getters trade chunks', async () => {
    const c = content(40 * CHUNK + 100);
    let uploaded = 0;
    const s = sharer(c, { onUploaded: (n) => (uploaded += n) });
    const from: string[] = [];
    const g1 = getter(c, { onChunk: (_i, m) => from.push(`g1<${m}`) });
    const g2 = getter(c, { onChunk: (_i, m) => from.push(`g2<${m}`) });
    // The sharer is slow, the getters' own link fast: they should trade.
    connect(s, 's', g1.engine, 'g1', 5);
    connect(s, 's', g2.engine, 'g2', 5);
    connect(g1.engine, 'g1', g2.engine, 'g2');
    expect(await g1.bytes()).toBe(sha(c.data));
    expect(await g2.bytes()).toBe(sha(c.data));
    expect(from.filter((f) => f === 'g1<g2' || f === 'g2<g1').length).toBeGreaterThan(0);
    expect(uploaded).toBeLessThan(2 * c.data.length);
  });

  it('says HELLO before answering what a link held before the engine took it', async () => {
    const c = content(4 * CHUNK);
    const s = sharer(c);
    const g = getter(c);
    const { a, b } = memoryLinkPair();
    s.addMember('g', a);
    // The sharer's HELLO waits in the getter's link; answering it asks for the manifest.
    await new Promise((r) => setTimeout(r, 10));
    g.engine.addMember('s', b);
    expect(await g.bytes()).toBe(sha(c.data));
  });

  it('asks for no more while MAX_PENDING_WRITES chunks wait for a slow disk', async () => {
    const c = content(128 * CHUNK);
    const s = sharer(c);
    let writing = 0;
    let most = 0;
    const mem = memoryStore(c.manifest, new Uint8Array(c.data.length));
    const slow: ChunkStore = {
      read: mem.read,
      write: async (i, chunk) => {
        most = Math.max(most, ++writing);
        await new Promise((r) => setTimeout(r, 5));
        await mem.write(i, chunk);
        writing--;
      },
    };
    let complete!: () => void;
    const done = new Promise<void>((r) => {
      complete = r;
    });
    const g = new SwarmEngine({
      root: c.root,
      content: { manifest: c.manifest, store: slow, have: new Bitfield(128) },
      hasher: nodeSha256,
      clock: systemClock,
      events: { onComplete: () => complete() },
    });
    engines.push(g);
    // Three links to the same sharer's content: 12 requests in flight at once.
    for (const n of [1, 2, 3]) connect(n === 1 ? s : sharer(c), `s${n}`, g, 'g');
    await done;
    // Those waiting, plus those already asked for when the cap was reached.
    expect(most).toBeGreaterThan(4);
    expect(most).toBeLessThanOrEqual(MAX_PENDING_WRITES + 3 * REQUESTS_IN_FLIGHT);
  });

  it('bans a member whose chunk fails its hash, and fetches that chunk elsewhere', async () => {
    const c = content(12 * CHUNK);
    const s = sharer(c);
    const banned: [string, string][] = [];
    const g = getter(c, { onBanned: (m, why) => banned.push([m, why]) });
    const liar = memoryLinkPair();
    g.engine.addMember('liar', liar.a);
    const asked = lyingMember(liar.b, c.manifest);
    connect(s, 's', g.engine, 'g', 20);
    expect(await g.bytes()).toBe(sha(c.data));
    expect(asked.length).toBeGreaterThan(0);
    expect(banned).toEqual([['liar', expect.stringMatching(/^chunk \d+ failed its hash$/)]]);
    expect(g.engine.isBanned('liar')).toBe(true);
    // It may not come back.
    const again = memoryLinkPair();
    g.engine.addMember('liar', again.a);
    expect(again.a.isOpen).toBe(false);
  });

  it('bans a member whose manifest does not match the root', async () => {
    const c = content(4 * CHUNK);
    const other = content(4 * CHUNK);
    const banned: string[] = [];
    const g = getter(c, { onBanned: (m) => banned.push(m) });
    const liar = memoryLinkPair();
    g.engine.addMember('liar', liar.a);
    // It claims our root but serves another manifest.
    liar.b.send(
      encodeSwarmFrame({ type: 'hello', v: SWARM_PROTOCOL_VERSION, root: c.root, chunks: 4, have: '' }),
    );
    liar.b.onMessage(() => {});
    lyingMember(memoryLinkPair().b, other.manifest);
    const encoded = encodeManifest(other.manifest);
    const { encodeDataFrame } = await import('../../src/core/swarm/protocol.js');
    await new Promise((r) => setTimeout(r, 20));
    liar.b.send(encodeDataFrame('manifest-part', 0, encoded.length, encoded));
    const s = sharer(c);
    connect(s, 's', g.engine, 'g');
    expect(await g.bytes()).toBe(sha(c.data));
    expect(banned).toEqual(['liar']);
  });

  /** A raw member connected to a sharer: what it receives, and whether the sharer closed on it. */
  function rawAgainstSharer(maxMessageSize?: number) {
    const c = content(4 * CHUNK);
    const dropped: string[] = [];
    const s = stalledSharer(c, 8, { onDropped: (_m, err) => dropped.push(err.code) });
    const { a, b } = memoryLinkPair(maxMessageSize !== undefined ? { maxMessageSize } : {});
    s.addMember('raw', a);
    const got: string[] = [];
    b.onMessage((raw) => got.push(parseSwarmFrame(raw).type));
    b.send(encodeSwarmFrame({ type: 'hello', v: SWARM_PROTOCOL_VERSION, root: c.root, chunks: 0, have: '' }));
    const closed = new Promise<void>((r) => b.onClose(() => r()));
    return { b, got, dropped, closed };
  }

  it('drops a member that asks for a chunk outside the manifest', async () => {
    const raw = rawAgainstSharer();
    raw.b.send(encodeSwarmFrame({ type: 'request', index: 4 }));
    await raw.closed;
    expect(raw.dropped).toEqual(['BAD_FRAME']);
    expect(raw.got[0]).toBe('hello');
  });

  it('drops a member that floods requests past the queue cap', async () => {
    const raw = rawAgainstSharer();
    for (let i = 0; i <= MAX_QUEUED_REQUESTS + 1; i++)
      raw.b.send(encodeSwarmFrame({ type: 'request', index: i % 4 }));
    await raw.closed;
    expect(raw.dropped).toEqual(['BAD_FRAME']);
  });

  it('drops a member that sends an oversize message', async () => {
    const raw = rawAgainstSharer(1024 * 1024);
    raw.b.send(new Uint8Array(300 * 1024).fill(2));
    await raw.closed;
    expect(raw.dropped).toEqual(['MESSAGE_TOO_LARGE']);
  });

  it('chokes requests past its upload slots', async () => {
    const c = content(8 * CHUNK);
    const s = stalledSharer(c, 1);
    const frames: string[][] = [[], []];
    for (const n of [0, 1]) {
      const { a, b } = memoryLinkPair();
      s.addMember(`m${n}`, a);
      b.onMessage((raw) => frames[n]?.push(parseSwarmFrame(raw).type));
      b.send(
        encodeSwarmFrame({ type: 'hello', v: SWARM_PROTOCOL_VERSION, root: c.root, chunks: 0, have: '' }),
      );
      b.send(encodeSwarmFrame({ type: 'request', index: 0 }));
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(frames).toEqual([['hello'], ['hello', 'choke']]);
  });
});
