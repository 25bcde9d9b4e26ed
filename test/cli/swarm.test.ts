/**
 * `peer share` and `peer get` as real processes on loopback, with a real
 * signal server as tracker: many getters at once, many sharers, a sharer
 * killed mid-way, a getter killed and rerun, a tampered ticket.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Bitfield } from '../../src/core/swarm/bitfield.js';
import { parseP2p } from '../../src/core/swarm/ticket.js';
import { joinSwarm } from '../../src/swarm/connector.js';
import { listTree, sha256File, writeRandomFile } from '../../src/testing/files.js';
import type { EventOf, EventProcess } from '../../src/testing/harness.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';
import { lyingMember } from '../../src/testing/swarm-members.js';

const { h, server } = useSignalServer({ beforeEach, afterEach });

/** Small chunks, so a few MiB make hundreds of them and every peer gets a share of the work. */
const CHUNK = 64 * 1024;

async function sourceFile(size: number): Promise<{ dir: string; file: string; sha: string }> {
  const dir = await h.tempDir('peerlane-share-');
  const file = path.join(dir, 'data.bin');
  await writeRandomFile(file, size);
  return { dir, file, sha: await sha256File(file) };
}

function share(file: string, ...extra: string[]): EventProcess {
  return h.peer(['share', file, '--chunk-size', String(CHUNK), ...server.peerArgs, ...extra]);
}

function get(source: string, out: string, ...extra: string[]): EventProcess {
  return h.peer(['get', source, '--out', out, ...server.peerArgs, ...extra]);
}

/** Once `p` reports at least `bytes` verified (progress events), so that a kill lands mid-way. */
async function progressed(p: EventProcess, bytes: number): Promise<void> {
  for (let waited = 0; waited < 20_000; waited += 10) {
    if (p.events.some((e) => e.event === 'progress' && e.bytes >= bytes)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no progress to ${bytes} bytes; stderr:\n${p.stderr}`);
}

/** The process's swarm-done event once it exits 0. */
async function finished(p: EventProcess): Promise<EventOf<'swarm-done'>> {
  const exit = await p.exit(120_000);
  expect(exit.code, p.stderr).toBe(0);
  return p.waitFor('swarm-done', 1);
}

describe('peer share / peer get', () => {
  it('one sharer to four getters at once: all verified, and the sharer uploads well under 4× the content', async () => {
    const size = 32 * 1024 * 1024;
    const src = await sourceFile(size);
    const sharer = share(src.file);
    const { ticket } = await sharer.waitFor('share-ready');
    const outs = await Promise.all([1, 2, 3, 4].map(() => h.tempDir('peerlane-get-')));
    const getters = outs.map((out) => get(ticket, out));
    const dones = await Promise.all(getters.map(finished));
    for (const out of outs) {
      expect(await listTree(out)).toEqual(['data.bin']);
      expect(await sha256File(path.join(out, 'data.bin'))).toBe(src.sha);
    }
    sharer.kill('SIGINT');
    const shared = await finished(sharer);
    const fromGetters = dones.reduce((n, d) => n + d.uploadedBytes, 0);
    const ratio = shared.uploadedBytes / size;
    console.log(
      `sharer uploaded ${ratio.toFixed(2)}× the content; getters uploaded ${(fromGetters / size).toFixed(2)}×`,
    );
    expect(shared.uploadedBytes + fromGetters).toBeGreaterThanOrEqual(4 * size);
    expect(ratio).toBeLessThan(3);
  });

  it('three sharers to one getter: chunks from all three, and one killed mid-way changes nothing', async () => {
    const size = 32 * 1024 * 1024;
    const src = await sourceFile(size);
    const first = share(src.file);
    const { ticket } = await first.waitFor('share-ready');
    const others = [share(src.file, '--ticket', ticket), share(src.file, '--ticket', ticket)];
    await Promise.all(others.map((s) => s.waitFor('share-ready')));
    const out = await h.tempDir('peerlane-get-');
    const getter = get(ticket, out);
    await progressed(getter, size / 4);
    others[0]?.kill('SIGKILL');
    const done = await finished(getter);
    expect(done.downloadedBytes).toBeGreaterThanOrEqual(size);
    expect(await sha256File(path.join(out, 'data.bin'))).toBe(src.sha);
    for (const s of [first, others[1]]) s?.kill('SIGINT');
    const uploads = await Promise.all(
      [first, others[1]].map(async (s) => (await finished(s as EventProcess)).uploadedBytes),
    );
    // The killed one served before it died: the getter linked to all three.
    const peers = getter.events.filter((e) => e.event === 'swarm-peer' && e.joined).length;
    expect(peers).toBe(3);
    for (const up of uploads) expect(up).toBeGreaterThan(0);
    const from = Object.values(done.fromMembers);
    expect(from).toHaveLength(3);
    for (const bytes of from) expect(bytes).toBeGreaterThan(0);
  });

  it('a getter killed with kill -9 resumes from its bitfield when run again', async () => {
    const size = 32 * 1024 * 1024;
    const src = await sourceFile(size);
    const sharer = share(src.file);
    const { ticket } = await sharer.waitFor('share-ready');
    const out = await h.tempDir('peerlane-get-');
    const first = get(ticket, out);
    await progressed(first, size / 4);
    first.kill('SIGKILL');
    await first.exit();
    const state = (await fs.readdir(out)).filter((n) => n.startsWith('.peerlane-swarm-'));
    expect(state).toHaveLength(2);
    const haveFile = state.find((n) => n.endsWith('.have')) ?? '';
    const recorded = new Bitfield(size / CHUNK, await fs.readFile(path.join(out, haveFile))).count;
    expect(recorded).toBeGreaterThan(0);
    const again = await finished(get(ticket, out));
    expect(await sha256File(path.join(out, 'data.bin'))).toBe(src.sha);
    expect(await listTree(out)).toEqual(['data.bin']);
    // The rerun fetched exactly what the first run had not recorded: at most
    // the chunks in flight at the kill were fetched twice.
    expect(again.downloadedBytes).toBe(size - recorded * CHUNK);
    console.log(
      `resume: ${recorded} of ${size / CHUNK} chunks recorded before kill -9; the rerun fetched the other ${size / CHUNK - recorded}`,
    );
    sharer.kill('SIGINT');
    await sharer.exit();
  });

  it('a tampered ticket or .p2p file is refused before any network, and nothing is written', async () => {
    const src = await sourceFile(256 * 1024);
    const p2p = path.join(src.dir, 'data.p2p');
    const sharer = share(src.file, '--p2p', p2p);
    const { ticket } = await sharer.waitFor('share-ready');
    const at = ticket.length - 10;
    const typo = ticket.slice(0, at) + (ticket[at] === 'x' ? 'y' : 'x') + ticket.slice(at + 1);
    const parent = await h.tempDir('peerlane-get-');
    const out = path.join(parent, 'out');
    const bad = get(typo, out);
    expect((await bad.exit()).code).toBe(2);
    expect(bad.error?.code).toBe('BAD_TICKET');
    const tampered = path.join(src.dir, 'tampered.p2p');
    await fs.writeFile(
      tampered,
      (await fs.readFile(p2p, 'utf8')).replace('"name":"data.bin"', '"name":"evil.bin"'),
    );
    const badFile = get(tampered, out);
    expect((await badFile.exit()).code).toBe(1);
    expect(badFile.error?.code).toBe('BAD_MANIFEST');
    expect(await listTree(parent)).toEqual([]);
    // The real .p2p works.
    const good = await finished(get(p2p, out));
    expect(good.out).toBe(out);
    expect(await sha256File(path.join(out, 'data.bin'))).toBe(src.sha);
    sharer.kill('SIGINT');
    await sharer.exit();
  });

  it('a sharer that serves a wrong chunk is banned, and the chunk comes from another', async () => {
    const src = await sourceFile(4 * 1024 * 1024);
    const p2p = path.join(src.dir, 'data.p2p');
    // The honest sharer makes the ticket, then steps out, so that the getter meets the liar first.
    const first = share(src.file, '--p2p', p2p);
    const { ticket } = await first.waitFor('share-ready');
    first.kill('SIGINT');
    await first.exit();
    const { manifest, ticket: parsed } = parseP2p(await fs.readFile(p2p, 'utf8'));
    const liar = await joinSwarm({
      signal: server,
      secret: parsed.secret,
      rtc: { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 },
    });
    const asked: number[][] = [];
    liar.onLink((link) => asked.push(lyingMember(link, manifest)));
    // Of two members the lower id dials (swarm/job.ts): the liar keeps that rule too.
    liar.onMember((member, joined) => {
      if (!joined || member < liar.memberId) return;
      liar.connect(member).then(
        (link) => asked.push(lyingMember(link, manifest)),
        () => {},
      );
    });
    try {
      const out = await h.tempDir('peerlane-get-');
      const getter = get(ticket, out);
      const banned = await getter.waitFor('peer-banned');
      expect(banned).toEqual({
        event: 'peer-banned',
        member: liar.memberId,
        reason: expect.stringMatching(/^chunk \d+ failed its hash$/),
      });
      // Nothing of the liar's was kept: the file comes whole from an honest sharer.
      const honest = share(src.file, '--ticket', ticket);
      const done = await finished(getter);
      expect(asked.flat().length).toBeGreaterThan(0);
      expect(Object.keys(done.fromMembers)).not.toContain(liar.memberId);
      expect(done.downloadedBytes).toBe(4 * 1024 * 1024);
      expect(await sha256File(path.join(out, 'data.bin'))).toBe(src.sha);
      honest.kill('SIGINT');
      await honest.exit();
    } finally {
      await liar.close();
    }
  });

  it('Ctrl-C on a get that only seeds is its normal end: exit 0 with its final line, as a share', async () => {
    const size = 1024 * 1024;
    const src = await sourceFile(size);
    const sharer = share(src.file);
    const { ticket } = await sharer.waitFor('share-ready');
    const out = await h.tempDir('peerlane-get-');
    const seeder = get(ticket, out, '--seed');
    // Every chunk verified: from here on it only seeds, until Ctrl-C.
    await progressed(seeder, size);
    seeder.kill('SIGINT');
    const done = await finished(seeder);
    expect(seeder.error).toBeUndefined();
    expect(done.files.map((f) => f.bytes)).toEqual([size]);
    expect(await sha256File(path.join(out, 'data.bin'))).toBe(src.sha);
    sharer.kill('SIGINT');
    await finished(sharer);
  });

  it('Ctrl-C on a seeding get before it has everything interrupts the fetch: exit 130', async () => {
    const size = 32 * 1024 * 1024;
    const src = await sourceFile(size);
    const sharer = share(src.file);
    const { ticket } = await sharer.waitFor('share-ready');
    const getter = get(ticket, await h.tempDir('peerlane-get-'), '--seed');
    await progressed(getter, size / 8);
    getter.kill('SIGINT');
    expect((await getter.exit()).code, getter.stderr).toBe(130);
    expect(getter.error).toMatchObject({ code: 'INTERRUPTED', message: 'stopped by Ctrl-C' });
    // The way on is the same get again, which fetches only what is missing; not "both commands".
    expect(getter.stderr).toContain('run the same `peer get` again with the same --out');
    // No final "every chunk verified" line for what is not.
    expect(getter.events.filter((e) => e.event === 'swarm-done')).toEqual([]);
    sharer.kill('SIGINT');
    await sharer.exit();
  });

  it('a get whose swarm has nobody in it ends with SWARM_EMPTY after --timeout', async () => {
    const src = await sourceFile(64 * 1024);
    const sharer = share(src.file);
    const { ticket } = await sharer.waitFor('share-ready');
    sharer.kill('SIGINT');
    await sharer.exit();
    const out = await h.tempDir('peerlane-get-');
    const alone = get(ticket, out, '--timeout', '1');
    expect((await alone.exit()).code).toBe(1);
    expect(alone.error?.code).toBe('SWARM_EMPTY');
  });
});
