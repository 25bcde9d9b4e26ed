/**
 * What the CLI says, in words, with real peers: where files went and under
 * which name, what was resumed, that a text is not "0 files", that the sender
 * waits for consent, that --quiet is quiet, and that text from the network
 * cannot drive the terminal it is shown in.
 */
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entryPoint } from '../../src/project.js';
import { send } from '../../src/session/send.js';
import { writeRandomFile } from '../../src/testing/files.js';
import type { EventProcess, SignalHandle } from '../../src/testing/harness.js';
import { Harness, LOOPBACK } from '../../src/testing/harness.js';
import { startReceiver } from '../../src/testing/in-process.js';
import { rawSender } from '../../src/testing/raw-peer.js';
import { peerInTerminal } from '../../src/testing/terminal.js';
import { encodeControl } from '../../src/transfer/frames.js';

const h = new Harness();
let server: SignalHandle;
beforeAll(async () => {
  server = await h.signalServer();
});
afterAll(() => h.cleanup());

/** `peer` for people: no --json. */
function human(args: string[], cwd?: string): EventProcess {
  return h.spawnCommand(
    process.execPath,
    [entryPoint('peer'), ...args, ...server.peerArgs],
    cwd ? { cwd } : {},
  );
}

/** The code a waiting `peer` printed alone on stdout. */
async function codeOf(p: EventProcess): Promise<string> {
  await expect.poll(() => p.strayStdout.length, { timeout: 15_000 }).toBeGreaterThan(0);
  return p.strayStdout[0] ?? '';
}

async function bothOk(rx: EventProcess, tx: EventProcess): Promise<void> {
  const [rxExit, txExit] = await Promise.all([rx.exit(), tx.exit()]);
  expect(txExit.code, tx.stderr).toBe(0);
  expect(rxExit.code, rx.stderr).toBe(0);
}

/** Title change, clear screen, OSC 52 clipboard write, a C1 CSI, a right-to-left override. */
const HOSTILE = 'hi \u001b]0;pwned\u0007\u001b[2J\u001b]52;c;ZXZpbA==\u0007\u009b31m\u202eexe.txt';
/** HOSTILE as a terminal must show it: every such character a visible escape, none left raw. */
const ESCAPED = '\\u001b]0;pwned\\u0007\\u001b[2J\\u001b]52;c;ZXZpbA==\\u0007\\u009b31m\\u202eexe.txt';

function shownSafely(screen: string): void {
  expect(screen).toContain(`hi ${ESCAPED}`);
  // No OSC (title, clipboard), no 8-bit CSI, no right-to-left override reached the terminal.
  for (const raw of ['\u001b]', '\u009b', '\u202e']) expect(screen).not.toContain(raw);
}

describe('the CLI in words', () => {
  it('reports a renamed file under its saved name and says where the files went', async () => {
    const src = await h.tempDir();
    const out = await h.tempDir();
    await fs.writeFile(path.join(src, 'a.txt'), 'new');
    await fs.writeFile(path.join(out, 'a.txt'), 'already here');
    const rx = human(['receive', '--out', out, '--yes']);
    const tx = human(['send', 'a.txt', '--to', await codeOf(rx)], src);
    await bothOk(rx, tx);
    expect(rx.stderr).toMatch(/done +3 B +a\.txt, saved as a \(1\)\.txt/);
    expect(rx.stderr).toMatch(new RegExp(`Received 1 file, 3 B in .* into ${out}, SHA-256 verified\\.`));
    // The sender was told, in words, what it waited for and how the data went.
    expect(tx.stderr).toContain('Connected: direct, same network, over TCP.');
    expect(tx.stderr).toContain('Waiting for the receiver to accept…');
    expect(tx.stderr).not.toMatch(/host -> host/);
  }, 30_000);

  it('says that a file resumed, and counts the rate from what moved', async () => {
    const src = await h.tempDir();
    const out = await h.tempDir();
    const file = path.join(src, 'big.bin');
    // Big enough that the sender, a whole receive window ahead, is still sending when the first run stops.
    const size = 48 * 1024 * 1024;
    await writeRandomFile(file, size);
    // A first run, stopped once the receiver has a quarter: it keeps the .part and its state.
    // (Stopped by the receiver's count: the sender runs up to a whole window ahead of it.)
    const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
    const stop = new AbortController();
    const first = startReceiver({
      signal: server,
      rtc,
      outDir: out,
      onEvent: (e) => {
        if (e.event === 'progress' && e.bytes >= size / 4) stop.abort();
      },
    });
    const sending = send({
      signal: server,
      rtc,
      paths: [file],
      code: await first.code,
      abortSignal: stop.signal,
    });
    await expect(sending).rejects.toMatchObject({ code: 'INTERRUPTED' });
    await first.result.catch(() => {});

    const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
    const { code } = await rx.waitFor('ready');
    const tx = human(['send', 'big.bin', '--to', code], src);
    await bothOk(rx, tx);
    expect(tx.stderr).toMatch(/done +50\.3 MB +big\.bin \(resumed: [\d.]+ MB were already there\)/);
    expect(tx.stderr).toMatch(
      /Sent 1 file, .*\n1 file resumed: [\d.]+ MB were already there and were not sent again\./,
    );
    // The rate counts what moved this run: the first progress already holds the resumed bytes.
    const firstProgress = rx.events.find((e) => e.event === 'progress');
    expect(firstProgress).toBeDefined();
    if (firstProgress?.event === 'progress') {
      expect(firstProgress.bytes - firstProgress.moved).toBeGreaterThanOrEqual(4 * 1024 * 1024);
    }
  }, 60_000);

  it('ends a text with "Sent the text.", and prints the text byte for byte into a pipe', async () => {
    const rx = human(['receive', '--out', await h.tempDir(), '--yes']);
    const tx = human(['send', '--text', HOSTILE, '--to', await codeOf(rx)]);
    await bothOk(rx, tx);
    expect(tx.stderr).toContain('Sent the text.');
    expect(tx.stderr).not.toContain('0 files');
    expect(tx.stderr).not.toContain('accept');
    expect(rx.strayStdout[1]).toBe(HOSTILE);
  }, 30_000);

  it('escapes a text from the network on a terminal', async () => {
    const rx = peerInTerminal(['receive', '--out', await h.tempDir(), '--yes', ...server.peerArgs]);
    try {
      const [code] = await rx.until(/[1-9][0-9]*-[a-z]+-[a-z]+/);
      const tx = human(['send', '--text', HOSTILE, '--to', code]);
      expect(await rx.exit).toBe(0);
      expect((await tx.exit()).code, tx.stderr).toBe(0);
      shownSafely(rx.screen());
    } finally {
      rx.kill();
    }
  }, 30_000);

  it("escapes the peer's ERROR message on a terminal", async () => {
    const rx = peerInTerminal(['receive', '--out', await h.tempDir(), ...server.peerArgs]);
    try {
      const [code] = await rx.until(/[1-9][0-9]*-[a-z]+-[a-z]+/);
      const peer = await rawSender(server, code);
      peer.link.send(encodeControl({ type: 'error', code: 'DISK_FULL', message: HOSTILE }));
      expect(await rx.exit).toBe(1);
      peer.close();
      shownSafely(rx.screen());
    } finally {
      rx.kill();
    }
  }, 30_000);

  it("escapes the signal server's error message on a terminal", async () => {
    // A hostile signal server: whoever connects gets an error frame and nothing else.
    const fake = net.createServer((socket) => {
      socket.end(`${JSON.stringify({ type: 'error', code: 'SERVER_BUSY', message: HOSTILE })}\n`);
    });
    await new Promise<void>((resolve) => fake.listen(0, LOOPBACK, resolve));
    const { port } = fake.address() as net.AddressInfo;
    const peer = peerInTerminal(['list', '--signal', `${LOOPBACK}:${port}`]);
    try {
      expect(await peer.exit).toBe(1);
      expect(peer.screen()).toContain('SERVER_BUSY');
      shownSafely(peer.screen());
    } finally {
      peer.kill();
      fake.close();
    }
  }, 30_000);

  it('--quiet --yes prints no offer list', async () => {
    const src = await h.tempDir();
    await fs.writeFile(path.join(src, 'a.txt'), 'quiet please');
    const rx = human(['receive', '--out', await h.tempDir(), '--yes', '--quiet']);
    const tx = human(['send', 'a.txt', '--to', await codeOf(rx)], src);
    await bothOk(rx, tx);
    expect(rx.stderr).toBe('');
  }, 30_000);
});
