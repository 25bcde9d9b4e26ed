/**
 * The swarm engine, I/O-free: it speaks the swarm protocol (protocol.ts) with
 * every member over the links it is given, fetches and checks the manifest,
 * picks chunks (picker.ts), checks each chunk against the manifest before it
 * is written or offered, and bans members that lie. Storage, hashing and time
 * are injected (ChunkStore, HasherFactory, Clock), as for the transfer
 * engines, so the same engine runs in Node and could in a browser; the caller
 * calls tick() every TICK_MS.
 *
 * Offences: a chunk that fails its hash, or a manifest that fails the root,
 * bans the member for this engine's life (`onBanned`). A frame that does not
 * parse, an oversize message, a request outside the manifest or beyond
 * MAX_QUEUED_REQUESTS closes its link (`onDropped`); it may come back.
 */
import type { PeerlaneError } from '../errors.js';
import { PeerlaneError as Err, toPeerlaneError } from '../errors.js';
import type { MessageLink } from '../link.js';
import type { Clock, HasherFactory } from '../transfer/ports.js';
import { Bitfield } from './bitfield.js';
import type { SwarmManifest } from './manifest.js';
import { ChunkLayout, encodeManifest, MAX_CHUNKS, verifyManifest } from './manifest.js';
import { Member } from './member.js';
import { pickChunk } from './picker.js';
import type { SwarmFrame } from './protocol.js';
import {
  MAX_QUEUED_REQUESTS,
  parseSwarmFrame,
  REQUESTS_IN_FLIGHT,
  SWARM_PROTOCOL_VERSION,
} from './protocol.js';

/** How often the caller should call tick(): re-asks slow requests and retries choked members. */
export const TICK_MS = 500;
/** A request with no answer this long is given up on that member (another may still have it). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** After a CHOKE, leave that member alone this long: its slots are full. */
export const CHOKE_BACKOFF_MS = 1_000;
/** Members served at once; the rest are choked until one finishes. */
export const DEFAULT_UPLOAD_SLOTS = 8;
/**
 * Verified chunks waiting for the store: while this many are, no more are
 * asked for. The disk may be slower than the links, and each waits whole in
 * memory: at most this many plus the requests in flight (REQUESTS_IN_FLIGHT
 * per member), 16 MiB plus 4 MiB a member at the default 1 MiB chunk.
 */
export const MAX_PENDING_WRITES = 16;
/** An honest getter asks for the manifest once per link (again only if a fetch was cut). */
const MAX_MANIFEST_ASKS = 4;

export interface ChunkStore {
  read(index: number): Promise<Uint8Array>;
  /** Write a chunk already checked against the manifest. */
  write(index: number, data: Uint8Array): Promise<void>;
}

export interface SwarmContent {
  manifest: SwarmManifest;
  store: ChunkStore;
  /** What the store holds (a resumed getter's bitfield; all ones for a sharer). */
  have: Bitfield;
}

export interface SwarmEngineEvents {
  onContent?(layout: ChunkLayout): void;
  onChunk?(index: number, from: string): void;
  onComplete?(): void;
  onMember?(member: string, joined: boolean): void;
  onBanned?(member: string, reason: string): void;
  onDropped?(member: string, err: PeerlaneError): void;
  onUploaded?(bytes: number): void;
  /** The store failed: the engine is of no more use. */
  onFatal?(err: PeerlaneError): void;
}

export interface SwarmEngineOptions {
  root: string;
  content?: SwarmContent;
  /** A getter without the manifest: opens its store once the manifest is fetched and verified. */
  openContent?: (manifest: SwarmManifest) => Promise<SwarmContent>;
  hasher: HasherFactory;
  clock: Clock;
  random?: () => number;
  uploadSlots?: number;
  events?: SwarmEngineEvents;
}

export class SwarmEngine {
  private readonly members = new Map<string, Member>();
  private readonly banned = new Set<string>();
  private readonly uploading = new Set<string>();
  private readonly writing = new Set<number>();
  private content: SwarmContent | undefined;
  private layout: ChunkLayout | undefined;
  private encoded: Uint8Array | undefined;
  private availability = new Int32Array(0);
  private fetch: { from: string; buf?: Uint8Array; received: number } | undefined;
  private stopped = false;
  uploadedBytes = 0;
  downloadedBytes = 0;

  constructor(private readonly options: SwarmEngineOptions) {
    if (options.content !== undefined) this.setContent(options.content);
  }

  get manifest(): SwarmManifest | undefined {
    return this.content?.manifest;
  }

  get chunkLayout(): ChunkLayout | undefined {
    return this.layout;
  }

  get have(): Bitfield | undefined {
    return this.content?.have;
  }

  /** Members past HELLO. */
  get peers(): number {
    let n = 0;
    for (const m of this.members.values()) if (m.helloSeen) n++;
    return n;
  }

  /** Linked to `member` now. */
  hasMember(member: string): boolean {
    return this.members.has(member);
  }

  isBanned(member: string): boolean {
    return this.banned.has(member);
  }

  /** Take on a link to `id`. A banned member's, or a second one to the same member, is closed. */
  addMember(id: string, link: MessageLink): void {
    if (this.stopped || this.banned.has(id) || this.members.has(id)) {
      link.close();
      return;
    }
    const member = new Member(id, link);
    this.members.set(id, member);
    // Our HELLO first: the link may hold messages of theirs that answering would follow.
    member.send({
      type: 'hello',
      v: SWARM_PROTOCOL_VERSION,
      root: this.options.root,
      chunks: this.layout?.count ?? 0,
      have: this.content?.have.toBase64() ?? '',
    });
    link.onClose(() => this.removeMember(member));
    link.onMessage((raw) => {
      if (!this.members.has(id)) return;
      try {
        this.handle(member, parseSwarmFrame(raw));
      } catch (err) {
        this.drop(member, toPeerlaneError(err, 'BAD_FRAME'));
      }
    });
    this.options.events?.onMember?.(id, true);
  }

  /** Close every link; nothing more is sent or written. */
  stop(): void {
    this.stopped = true;
    for (const m of [...this.members.values()]) m.link.close();
  }

  /** Give up on requests long unanswered, re-ask slow ones elsewhere, retry choked members. */
  tick(): void {
    const now = this.options.clock.now();
    for (const m of this.members.values()) {
      for (const [index, req] of m.asked) {
        if (now - req.since < REQUEST_TIMEOUT_MS) continue;
        m.asked.delete(index);
        m.send({ type: 'cancel', index });
      }
      this.fill(m);
    }
  }

  private handle(m: Member, frame: SwarmFrame): void {
    if (!m.helloSeen && frame.type !== 'hello') throw new Err('BAD_FRAME', `${frame.type} before HELLO`);
    switch (frame.type) {
      case 'hello':
        this.onHello(m, frame);
        return;
      case 'have':
        this.onHave(m, frame.index);
        return;
      case 'request':
        this.onRequest(m, frame.index);
        return;
      case 'cancel': {
        const at = m.queue.indexOf(frame.index);
        if (at >= 0) m.queue.splice(at, 1);
        return;
      }
      case 'choke':
        m.asked.delete(frame.index);
        m.chokedUntil = this.options.clock.now() + CHOKE_BACKOFF_MS;
        return;
      case 'manifest-request':
        this.onManifestRequest(m);
        return;
      case 'manifest-part':
        this.onManifestPart(m, frame);
        return;
      case 'chunk':
        this.onChunkPart(m, frame);
        return;
      case 'error':
        this.options.events?.onDropped?.(m.id, new Err(frame.code, frame.message));
        m.link.close();
        return;
    }
  }

  private onHello(m: Member, hello: Extract<SwarmFrame, { type: 'hello' }>): void {
    if (m.helloSeen) throw new Err('BAD_FRAME', 'a second HELLO');
    if (hello.root !== this.options.root) throw new Err('BAD_FRAME', 'the member shares other content');
    m.helloSeen = true;
    m.said = { chunks: hello.chunks, have: hello.have };
    if (this.layout !== undefined) this.learnHave(m);
    else if (hello.chunks > 0) this.fetchManifest();
    this.fill(m);
  }

  /** Turn what a member said into its bitfield, now that we know the manifest. */
  private learnHave(m: Member): void {
    const layout = this.layout;
    if (layout === undefined || m.said === undefined) return;
    const { chunks, have } = m.said;
    if (chunks !== 0 && chunks !== layout.count) throw new Err('BAD_FRAME', 'the member counts other chunks');
    m.have = chunks === 0 ? new Bitfield(layout.count) : Bitfield.fromBase64(layout.count, have);
    for (const i of m.pendingHaves.splice(0)) m.have.set(i);
    for (let i = 0; i < layout.count; i++)
      if (m.have.has(i)) this.availability[i] = (this.availability[i] ?? 0) + 1;
  }

  private onHave(m: Member, index: number): void {
    if (this.layout === undefined || m.have === undefined) {
      // It may have learnt the manifest since its HELLO said no chunks: the cap is the protocol's.
      if (m.pendingHaves.length >= MAX_CHUNKS) throw new Err('BAD_FRAME', 'more HAVEs than chunks');
      m.pendingHaves.push(index);
      return;
    }
    if (index >= this.layout.count) throw new Err('BAD_FRAME', `HAVE for chunk ${index}, past the manifest`);
    if (m.have.set(index)) this.availability[index] = (this.availability[index] ?? 0) + 1;
    this.fill(m);
  }

  private onRequest(m: Member, index: number): void {
    const content = this.content;
    if (this.layout !== undefined && index >= this.layout.count) {
      throw new Err('BAD_FRAME', `asked for chunk ${index}, outside the manifest`);
    }
    if (m.queue.length >= MAX_QUEUED_REQUESTS) {
      throw new Err('BAD_FRAME', `more than ${MAX_QUEUED_REQUESTS} requests queued`);
    }
    if (content === undefined || !content.have.has(index) || !this.takeSlot(m)) {
      m.send({ type: 'choke', index });
      return;
    }
    m.queue.push(index);
    void this.serve(m, content);
  }

  private takeSlot(m: Member): boolean {
    if (this.uploading.has(m.id)) return true;
    if (this.uploading.size >= (this.options.uploadSlots ?? DEFAULT_UPLOAD_SLOTS)) return false;
    this.uploading.add(m.id);
    return true;
  }

  /** Send what `m` asked for, in order; each chunk checked against the manifest first. */
  private async serve(m: Member, content: SwarmContent): Promise<void> {
    if (m.serving) return;
    m.serving = true;
    try {
      for (let index = m.queue.shift(); index !== undefined; index = m.queue.shift()) {
        const data = await content.store.read(index).catch(() => undefined);
        if (data === undefined || this.hash(data) !== content.manifest.chunks[index]) {
          // Our copy is gone or went bad on disk: never offer it; a getter fetches it again.
          content.have.clear(index);
          m.send({ type: 'choke', index });
          continue;
        }
        if (!(await m.sendParts('chunk', index, data))) return;
        this.uploadedBytes += data.length;
        this.options.events?.onUploaded?.(data.length);
      }
    } catch (err) {
      this.fatal(toPeerlaneError(err, 'INTERNAL'));
    } finally {
      m.serving = false;
      this.uploading.delete(m.id);
    }
  }

  private hash(data: Uint8Array): string {
    const h = this.options.hasher();
    h.update(data);
    return h.digestHex();
  }

  private onManifestRequest(m: Member): void {
    if (++m.manifestAsks > MAX_MANIFEST_ASKS)
      throw new Err('BAD_FRAME', 'asked for the manifest again and again');
    const encoded = this.encoded;
    if (encoded === undefined) return;
    void m.sendParts('manifest-part', encoded.length, encoded);
  }

  /** Ask one member that has the manifest for it, unless a fetch is under way. */
  private fetchManifest(): void {
    if (this.content !== undefined || this.fetch !== undefined || this.stopped) return;
    for (const m of this.members.values()) {
      if (!m.helloSeen || (m.said?.chunks ?? 0) === 0) continue;
      this.fetch = { from: m.id, received: 0 };
      m.send({ type: 'manifest-request' });
      return;
    }
  }

  private onManifestPart(m: Member, part: Extract<SwarmFrame, { type: 'manifest-part' }>): void {
    const fetch = this.fetch;
    if (fetch === undefined || fetch.from !== m.id || this.content !== undefined) return;
    if (part.offset === 0) fetch.buf = new Uint8Array(part.total);
    if (fetch.buf === undefined || part.offset !== fetch.received || part.total !== fetch.buf.length) {
      throw new Err('BAD_FRAME', 'manifest parts out of order');
    }
    fetch.buf.set(part.data, part.offset);
    fetch.received += part.data.length;
    if (fetch.received < fetch.buf.length) return;
    let manifest: SwarmManifest;
    try {
      manifest = verifyManifest(fetch.buf, this.options.root);
    } catch (err) {
      this.fetch = undefined;
      this.ban(m, `its manifest does not match the ticket (${(err as Error).message})`);
      this.fetchManifest();
      return;
    }
    void this.open(manifest);
  }

  private async open(manifest: SwarmManifest): Promise<void> {
    try {
      const openContent = this.options.openContent;
      if (openContent === undefined) throw new Err('INTERNAL', 'a getter without openContent');
      const content = await openContent(manifest);
      if (this.stopped) return;
      this.setContent(content);
    } catch (err) {
      this.fatal(toPeerlaneError(err, 'INTERNAL'));
    }
  }

  private setContent(content: SwarmContent): void {
    this.content = content;
    this.encoded = encodeManifest(content.manifest);
    const layout = new ChunkLayout(content.manifest);
    this.layout = layout;
    this.availability = new Int32Array(layout.count);
    for (const m of [...this.members.values()]) {
      try {
        this.learnHave(m);
      } catch (err) {
        this.drop(m, toPeerlaneError(err, 'BAD_FRAME'));
      }
    }
    this.options.events?.onContent?.(layout);
    if (content.have.complete) this.options.events?.onComplete?.();
    for (const m of this.members.values()) this.fill(m);
  }

  private onChunkPart(m: Member, part: Extract<SwarmFrame, { type: 'chunk' }>): void {
    const req = m.asked.get(part.index);
    const layout = this.layout;
    if (req === undefined || layout === undefined) return; // cancelled, or never asked: dropped
    const length = layout.place(part.index).length;
    if (part.offset + part.data.length > length)
      throw new Err('BAD_FRAME', `more than chunk ${part.index} holds`);
    if (part.offset === 0) {
      req.buf = new Uint8Array(length);
      req.received = 0;
    }
    // The tail of an answer to an earlier, cancelled ask of the same chunk: ignored.
    if (req.buf === undefined || part.offset !== req.received) return;
    req.buf.set(part.data, part.offset);
    req.received += part.data.length;
    if (req.received < length) return;
    m.asked.delete(part.index);
    void this.accept(m, part.index, req.buf);
  }

  /** A whole chunk from `m`: checked, written, then offered to everyone. */
  private async accept(m: Member, index: number, data: Uint8Array): Promise<void> {
    const content = this.content;
    if (content === undefined) return;
    if (this.hash(data) !== content.manifest.chunks[index]) {
      this.ban(m, `chunk ${index} failed its hash`);
      return;
    }
    for (const other of this.members.values()) {
      if (other !== m && other.asked.delete(index)) other.send({ type: 'cancel', index });
    }
    if (content.have.has(index) || this.writing.has(index)) {
      this.fill(m);
      return;
    }
    this.writing.add(index);
    this.fill(m);
    try {
      await content.store.write(index, data);
    } catch (err) {
      this.fatal(toPeerlaneError(err, 'OUT_NOT_WRITABLE'));
      return;
    } finally {
      this.writing.delete(index);
    }
    if (this.stopped) return;
    content.have.set(index);
    // A write slot is free again: members held back by it may be asked once more.
    for (const other of this.members.values()) this.fill(other);
    this.downloadedBytes += data.length;
    for (const other of this.members.values()) if (other.helloSeen) other.send({ type: 'have', index });
    this.options.events?.onChunk?.(index, m.id);
    if (content.have.complete) this.options.events?.onComplete?.();
  }

  /** Keep REQUESTS_IN_FLIGHT requests open with `m`. */
  private fill(m: Member): void {
    const { content, layout } = this;
    const theirs = m.have;
    if (content === undefined || layout === undefined || theirs === undefined || this.stopped) return;
    const now = this.options.clock.now();
    if (!m.link.isOpen || now < m.chokedUntil) return;
    while (m.asked.size < REQUESTS_IN_FLIGHT && this.writing.size < MAX_PENDING_WRITES) {
      const index = pickChunk({
        count: layout.count,
        taken: (i) => content.have.has(i) || this.writing.has(i),
        theirs,
        availability: (i) => this.availability[i] ?? 0,
        inFlightSince: (i) => this.askedSince(i),
        askedHere: (i) => m.asked.has(i),
        now,
        random: (this.options.random ?? Math.random)(),
      });
      if (index === undefined) return;
      m.asked.set(index, { since: now, received: 0 });
      m.send({ type: 'request', index });
    }
  }

  private askedSince(index: number): number | undefined {
    let since: number | undefined;
    for (const m of this.members.values()) {
      const req = m.asked.get(index);
      if (req !== undefined && (since === undefined || req.since < since)) since = req.since;
    }
    return since;
  }

  private ban(m: Member, reason: string): void {
    this.banned.add(m.id);
    this.options.events?.onBanned?.(m.id, reason);
    m.fail(new Err('HASH_MISMATCH', reason));
  }

  private drop(m: Member, err: PeerlaneError): void {
    this.options.events?.onDropped?.(m.id, err);
    m.fail(err);
  }

  private fatal(err: PeerlaneError): void {
    if (this.stopped) return;
    this.stop();
    this.options.events?.onFatal?.(err);
  }

  private removeMember(m: Member): void {
    if (this.members.get(m.id) !== m) return;
    this.members.delete(m.id);
    this.uploading.delete(m.id);
    if (m.have !== undefined) {
      for (let i = 0; i < m.have.size; i++)
        if (m.have.has(i)) this.availability[i] = (this.availability[i] ?? 1) - 1;
    }
    if (this.fetch?.from === m.id) {
      this.fetch = undefined;
      this.fetchManifest();
    }
    this.options.events?.onMember?.(m.id, false);
    for (const other of this.members.values()) this.fill(other);
  }
}
