/**
 * DirectAttempt over real loopback sockets: two attempts that dial each
 * other's hints get links on both sides; strangers, scanners and loopback
 * hints from a non-loopback peer get nothing.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HELLO_BYTES, MAX_ACCEPTED } from '../../src/core/direct/protocol.js';
import { DirectAttempt } from '../../src/direct/attempt.js';
import { directKey, handshake } from '../../src/direct/handshake.js';
import type { TcpLink } from '../../src/direct/tcp-link.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { closed, loopbackServer, readBytes } from '../../src/testing/sockets.js';
import { withTimeout } from '../helpers.js';

const key = directKey(randomBytes(32));
const started: DirectAttempt[] = [];
const servers: net.Server[] = [];
afterEach(() => {
  for (const a of started.splice(0)) a.close();
  for (const s of servers.splice(0)) s.close();
});

async function attempt(options: {
  chooser: boolean;
  bindAddress?: string;
  key?: Buffer;
}): Promise<DirectAttempt> {
  const a = await DirectAttempt.listen({
    bindAddress: LOOPBACK,
    key,
    attempt: 4,
    timeoutMs: 5_000,
    ...options,
  });
  started.push(a);
  return a;
}

function linksOf(a: DirectAttempt): TcpLink[] {
  const links: TcpLink[] = [];
  a.onLink((l) => links.push(l));
  return links;
}

async function until(check: () => boolean, what: string): Promise<void> {
  await withTimeout(
    (async () => {
      while (!check()) await new Promise((r) => setTimeout(r, 5));
    })(),
    what,
  );
}

/** The link on the other side of `link`: the same HELLO nonces, crosswise. */
function peerOf(link: TcpLink, others: TcpLink[]): TcpLink | undefined {
  return others.find((o) => o.fingerprints().remote === link.fingerprints().local);
}

/** Open `a`'s first link with USE and send one message over it; what the peer's matching link received. */
async function useFirst(links: TcpLink[], theirs: TcpLink[]): Promise<string[]> {
  const chosen = links[0] as TcpLink;
  const peer = peerOf(chosen, theirs) as TcpLink;
  const got: string[] = [];
  peer.onMessage((m) => got.push(String(m)));
  chosen.sendUse();
  chosen.send(Buffer.from('over tcp'));
  await withTimeout(peer.used, 'USE');
  await until(() => got.length === 1, 'the message');
  return got;
}

describe('DirectAttempt', () => {
  it('offers its bound address and port, and two attempts that dial each other get links on both sides', async () => {
    const offerer = await attempt({ chooser: true });
    const answerer = await attempt({ chooser: false });
    expect(offerer.hints()).toEqual([{ host: LOOPBACK, port: expect.any(Number) }]);
    expect(offerer.hints()[0]?.port).toBeGreaterThan(0);
    const [mine, theirs] = [linksOf(offerer), linksOf(answerer)];
    offerer.dial(answerer.hints());
    answerer.dial(offerer.hints());
    // Each dial makes one connection, seen by both: two links a side.
    await until(() => mine.length === 2 && theirs.length === 2, 'two links each');
    for (const l of mine) expect(peerOf(l, theirs)).toBeDefined();
    expect(await useFirst(mine, theirs)).toEqual(['over tcp']);
  });

  it('onLink also hands over links that completed before it was called', async () => {
    const offerer = await attempt({ chooser: true });
    const answerer = await attempt({ chooser: false });
    const theirs = linksOf(answerer);
    offerer.dial(answerer.hints());
    await until(() => theirs.length === 1, 'the answerer’s link');
    await new Promise((r) => setTimeout(r, 20));
    expect(linksOf(offerer)).toHaveLength(1);
  });

  it('closes a stranger that sends garbage or holds a wrong key, and the real peer still gets through', async () => {
    const offerer = await attempt({ chooser: true });
    const answerer = await attempt({ chooser: false });
    const theirs = linksOf(answerer);
    const { port } = answerer.hints()[0] as { port: number };

    const garbage = net.connect({ host: LOOPBACK, port });
    garbage.on('error', () => {});
    garbage.write(randomBytes(HELLO_BYTES + 100));
    await withTimeout(closed(garbage), 'the garbage connection closing');

    const wrongKey = net.connect({ host: LOOPBACK, port });
    await new Promise((r) => wrongKey.once('connect', r));
    await expect(
      handshake(wrongKey, 'dialer', directKey(randomBytes(32)), { n: 4, role: 'offerer' }, 5_000),
    ).rejects.toMatchObject({
      code: 'BAD_MESSAGE',
    });

    const mine = linksOf(offerer);
    offerer.dial(answerer.hints());
    await until(() => mine.length === 1 && theirs.length === 1, 'the real link');
    expect(await useFirst(mine, theirs)).toEqual(['over tcp']);
  });

  it('close(keep) keeps that link, closes the others, and stops listening', async () => {
    const offerer = await attempt({ chooser: true });
    const answerer = await attempt({ chooser: false });
    const [mine, theirs] = [linksOf(offerer), linksOf(answerer)];
    offerer.dial([...answerer.hints(), ...answerer.hints()]);
    await until(() => mine.length === 2 && theirs.length === 2, 'two links');
    const keep = mine[0] as TcpLink;
    const other = mine[1] as TcpLink;
    const otherClosed = new Promise((resolve) => peerOf(other, theirs)?.onClose(resolve));
    const [hint] = offerer.hints();
    offerer.close(keep);
    expect(other.isOpen).toBe(false);
    expect(keep.isOpen).toBe(true);
    await withTimeout(otherClosed, 'the peer seeing the other link close');
    expect(await useFirst([keep], theirs)).toEqual(['over tcp']);

    const late = net.connect(hint as { host: string; port: number });
    const refused = await new Promise<string>((resolve) =>
      late.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')),
    );
    expect(refused).toBe('ECONNREFUSED');
  });

  it('close() without keep closes every link', async () => {
    const offerer = await attempt({ chooser: true });
    const answerer = await attempt({ chooser: false });
    const mine = linksOf(offerer);
    offerer.dial(answerer.hints());
    await until(() => mine.length === 1, 'a link');
    offerer.close();
    expect(mine[0]?.isOpen).toBe(false);
  });

  it('dials loopback hints only when bound to loopback itself', async () => {
    let connections = 0;
    const { server, port } = await loopbackServer((s) => {
      connections++;
      s.destroy();
    });
    servers.push(server);
    // Bound to every interface, as a real peer is: a loopback hint is someone else's trick.
    const anywhere = await attempt({ chooser: true, bindAddress: '0.0.0.0' });
    anywhere.dial([
      { host: '127.0.0.1', port },
      { host: '127.9.9.9', port },
      { host: '::1', port },
    ]);
    await new Promise((r) => setTimeout(r, 200));
    expect(connections).toBe(0);
    // The same hint from an attempt bound to loopback is dialed: the check above can fail.
    const local = await attempt({ chooser: true });
    local.dial([{ host: LOOPBACK, port }]);
    await until(() => connections === 1, 'the loopback dial');
  });

  it('does not dial this machine under another spelling of loopback', async () => {
    let connections = 0;
    const count = (s: net.Socket): void => {
      connections++;
      s.destroy();
    };
    const v4 = await loopbackServer(count);
    const v6 = await loopbackServer(count, '::1');
    servers.push(v4.server, v6.server);
    const spellings = [
      ...['0.0.0.0', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:0.0.0.0'].map((host) => ({
        host,
        port: v4.port,
      })),
      ...['::', '0:0:0:0:0:0:0:1', '0::1'].map((host) => ({ host, port: v6.port })),
    ];
    // Each of them reaches a local listener on Linux: the check below can fail.
    for (const hint of spellings) {
      const s = net.connect(hint);
      await withTimeout(new Promise((r) => s.once('connect', r)), `${hint.host} connecting`);
      s.destroy();
    }
    await until(() => connections === spellings.length, 'the plain connections');
    connections = 0;
    const anywhere = await attempt({ chooser: true, bindAddress: '0.0.0.0' });
    for (const hint of spellings) anywhere.dial([hint]);
    await new Promise((r) => setTimeout(r, 200));
    expect(connections).toBe(0);
  });

  it(`refuses connections beyond ${MAX_ACCEPTED}`, async () => {
    const answerer = await attempt({ chooser: false });
    const { port } = answerer.hints()[0] as { port: number };
    const sockets = Array.from({ length: MAX_ACCEPTED + 3 }, () => {
      const s = net.connect({ host: LOOPBACK, port });
      s.on('error', () => {});
      return s;
    });
    // An accepted connection hears the listener's HELLO; a refused one is closed without a byte.
    const heard = await Promise.all(
      sockets.map((s) => withTimeout(readBytes(s, HELLO_BYTES), 'HELLO or close')),
    );
    expect(heard.filter((b) => b.length === HELLO_BYTES)).toHaveLength(MAX_ACCEPTED);
    expect(heard.filter((b) => b.length === 0)).toHaveLength(3);
    for (const s of sockets) s.destroy();
  });
});
