/**
 * The real receiver (the library's receive(), in this process) against a
 * hostile sender that completes the real handshake and then sends raw frames.
 * Every attack ends the transfer with a stable code, the sender is told why in
 * an ERROR frame, and nothing is left on disk, inside the output folder or out.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ErrorCode } from '../../src/core/errors.js';
import { PeerlaneError } from '../../src/core/errors.js';
import type { ManifestEntry } from '../../src/core/transfer/protocol.js';
import {
  CHUNK_SIZE,
  DATA_HEADER_BYTES,
  FrameType,
  MAX_FILES,
  RECEIVE_WINDOW,
  TRANSFER_PROTOCOL_VERSION,
} from '../../src/core/transfer/protocol.js';
import type { TransferResult } from '../../src/core/transfer/types.js';
import { listTree } from '../../src/testing/files.js';
import { LOOPBACK } from '../../src/testing/harness.js';
import { useSignalServer } from '../../src/testing/hooks.js';
import { startReceiver } from '../../src/testing/in-process.js';
import type { RawPeer } from '../../src/testing/raw-peer.js';
import { rawSender } from '../../src/testing/raw-peer.js';
import { allocDataFrame, encodeControl } from '../../src/transfer/frames.js';

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000 };
/** Full-size DATA payloads, as an honest sender sends them. */
const CHUNK = CHUNK_SIZE;

const { h, server } = useSignalServer({ beforeEach, afterEach });

interface Scene {
  peer: RawPeer;
  result: Promise<TransferResult>;
  /** The receiver's output folder, created by receive() inside `parent`. */
  outDir: string;
  /** A temp folder holding only `outDir`; a traversal would land here. */
  parent: string;
}

/** Start receive() into a fresh folder and connect a raw sender to it; `onManifest` asks the "user". */
async function scene(
  onManifest?: (files: readonly ManifestEntry[], signal: AbortSignal) => Promise<void>,
): Promise<Scene> {
  const parent = await h.tempDir('peerlane-hostile-');
  const outDir = path.join(parent, 'out');
  const { code, result } = startReceiver({
    signal: server,
    rtc,
    outDir,
    ...(onManifest ? { onManifest } : {}),
  });
  const peer = await rawSender(server, await Promise.race([code, result.then(() => '')]));
  return { peer, result, outDir, parent };
}

function manifest(files: ManifestEntry[], v = TRANSFER_PROTOCOL_VERSION): Buffer {
  return encodeControl({ type: 'manifest', v, files });
}

/** A control frame with any JSON body at all, valid for encodeControl's types or not. */
function rawControl(type: number, body: unknown): Buffer {
  return Buffer.concat([Buffer.from([type]), Buffer.from(JSON.stringify(body), 'utf8')]);
}

function data(file: number, offset: number, payload: Buffer): Buffer {
  const frame = allocDataFrame(file, offset, payload.length);
  payload.copy(frame, DATA_HEADER_BYTES);
  return frame;
}

/**
 * receive() rejects with `code`, the sender got an ERROR frame with it, and
 * nothing was written: not in the output folder, not beside it.
 */
async function expectAttackFails(s: Scene, code: ErrorCode): Promise<void> {
  const err = await s.result.then(
    (r) => new Error(`receive() resolved: ${JSON.stringify(r)}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PeerlaneError);
  expect(err).toMatchObject({ code });
  const reported = await s.peer.next('error');
  expect(reported.code).toBe(code);
  expect(await listTree(s.outDir)).toEqual([]);
  expect(await listTree(s.parent)).toEqual(['out']);
}

/** Run `attack` against a fresh receiver and check it fails with `code`. */
async function attack(code: ErrorCode, run: (peer: RawPeer) => Promise<void> | void): Promise<Scene> {
  const s = await scene();
  try {
    await run(s.peer);
    await expectAttackFails(s, code);
  } finally {
    s.peer.close();
  }
  return s;
}

describe('receive() against a hostile sender', () => {
  it('BAD_FRAME for DATA before the MANIFEST', async () => {
    await attack('BAD_FRAME', (peer) => {
      peer.link.send(data(0, 0, Buffer.from('sneaky')));
    });
  });

  it.each([
    ['a parent-folder escape', '../escape.txt'],
    ['a climb out of a folder', 'a/../../x'],
    ['an empty path component', 'a//b'],
    ['an absolute path', '/etc/x'],
    ['a trailing slash', 'a/b/'],
    ['a dot component', 'a/./b'],
    ['a backslash component', 'a/..\\x'],
    ['a terminal escape sequence', 'clear\u001b[2J.txt'],
  ])('BAD_NAME for %s in a file name', async (_, name) => {
    const s = await attack('BAD_NAME', (peer) => {
      peer.link.send(manifest([{ name, size: 3 }]));
    });
    // The refusal came before any ACCEPT.
    expect(s.peer.frames.some((f) => f.type === 'accept')).toBe(false);
  });

  it('BAD_FRAME for an unknown frame type', async () => {
    await attack('BAD_FRAME', (peer) => {
      peer.link.send(Buffer.from([0xee, 0x7b, 0x7d]));
    });
  });

  it('BAD_FRAME for a negative size in the manifest', async () => {
    await attack('BAD_FRAME', (peer) => {
      peer.link.send(
        rawControl(FrameType.MANIFEST, { v: TRANSFER_PROTOCOL_VERSION, files: [{ name: 'a', size: -1 }] }),
      );
    });
  });

  it('BAD_FRAME for a manifest of more than MAX_FILES files', async () => {
    await attack('BAD_FRAME', (peer) => {
      const files = Array.from({ length: MAX_FILES + 1 }, () => ({ name: 'a', size: 0 }));
      const frame = manifest(files);
      // The attack must reach the receiver's parser, not be refused by the channel.
      expect(frame.length).toBeLessThanOrEqual(peer.link.maxMessageSize());
      peer.link.send(frame);
    });
  });

  it('a manifest of 10^6 entries cannot even be sent: the channel refuses a message that large', async () => {
    const s = await scene();
    try {
      const files = Array.from({ length: 1_000_000 }, () => ({ name: 'a', size: 0 }));
      expect(() => s.peer.link.send(manifest(files))).toThrow();
      // Nothing reached the receiver, which is still waiting for a manifest.
      expect(await listTree(s.outDir)).toEqual([]);
    } finally {
      s.peer.close();
    }
  });

  it('BAD_FRAME for a DATA frame larger than allowed', async () => {
    await attack('BAD_FRAME', async (peer) => {
      peer.link.send(manifest([{ name: 'a.bin', size: 1024 * 1024 }]));
      await peer.next('accept');
      peer.link.send(encodeControl({ type: 'file-start', file: 0, offset: 0 }));
      peer.link.send(data(0, 0, Buffer.alloc(CHUNK_SIZE + 1)));
    });
  });

  it('BAD_FRAME for a second MANIFEST after ACCEPT', async () => {
    await attack('BAD_FRAME', async (peer) => {
      peer.link.send(manifest([{ name: 'a.txt', size: 3 }]));
      await peer.next('accept');
      peer.link.send(encodeControl({ type: 'file-start', file: 0, offset: 0 }));
      peer.link.send(manifest([{ name: 'b.txt', size: 3 }]));
    });
  });

  it('BAD_FRAME for more bytes than announced', async () => {
    await attack('BAD_FRAME', async (peer) => {
      peer.link.send(manifest([{ name: 'a.txt', size: 3 }]));
      await peer.next('accept');
      peer.link.send(encodeControl({ type: 'file-start', file: 0, offset: 0 }));
      peer.link.send(data(0, 0, Buffer.from('hello')));
    });
  });

  it('BAD_FRAME for DATA at the wrong offset', async () => {
    await attack('BAD_FRAME', async (peer) => {
      peer.link.send(manifest([{ name: 'a.txt', size: 10 }]));
      await peer.next('accept');
      peer.link.send(encodeControl({ type: 'file-start', file: 0, offset: 0 }));
      peer.link.send(data(0, 0, Buffer.from('hello')));
      peer.link.send(data(0, 7, Buffer.from('lo')));
    });
  });

  it('TRANSFER_INCOMPLETE for FILE_END before all bytes arrived', async () => {
    await attack('TRANSFER_INCOMPLETE', async (peer) => {
      peer.link.send(manifest([{ name: 'a.txt', size: 10 }]));
      await peer.next('accept');
      peer.link.send(encodeControl({ type: 'file-start', file: 0, offset: 0 }));
      peer.link.send(data(0, 0, Buffer.from('hello')));
      peer.link.send(encodeControl({ type: 'file-end', file: 0, sha256: 'a'.repeat(64) }));
    });
  });

  it('TRANSFER_INCOMPLETE for END before all files', async () => {
    await attack('TRANSFER_INCOMPLETE', async (peer) => {
      peer.link.send(manifest([{ name: 'a.txt', size: 5 }]));
      await peer.next('accept');
      peer.link.send(encodeControl({ type: 'file-start', file: 0, offset: 0 }));
      peer.link.send(data(0, 0, Buffer.from('hello')));
      peer.link.send(encodeControl({ type: 'end' }));
    });
  });

  it('BAD_FRAME for a sender that ignores the receive window', async () => {
    // 4 MiB past the window: more than the SCTP stack can still hold in flight
    // once the sender's buffer has drained, so all of the overrun has arrived.
    const frames = Math.ceil(RECEIVE_WINDOW / CHUNK) + 64;
    const s = await attack('BAD_FRAME', async (peer) => {
      peer.link.send(manifest([{ name: 'big.bin', size: 64 * 1024 * 1024 }]));
      const accept = await peer.next('accept');
      expect(accept.window).toBe(RECEIVE_WINDOW);
      peer.link.send(encodeControl({ type: 'file-start', file: 0, offset: 0 }));
      const payload = Buffer.alloc(CHUNK, 0x5a);
      // One synchronous loop at the right offsets, never waiting for CREDIT...
      for (let i = 0; i < frames; i++) peer.link.send(data(0, i * CHUNK, payload));
      // ...and this thread, which the receiver shares, stays busy until the
      // bytes have left and a little longer, as a stalled receiver's would.
      // The receiver then takes every queued frame in one go, before any of
      // its disk writes can complete, so it cannot hand out credit in time
      // and the overrun is caught whatever the machine's speed.
      const deadline = Date.now() + 10_000;
      while (peer.link.bufferedAmount() > 0 && Date.now() < deadline) {
        // busy wait on purpose
      }
      expect(peer.link.bufferedAmount()).toBe(0);
      const settle = Date.now() + 100;
      while (Date.now() < settle) {
        // busy wait on purpose
      }
    });
    // It was the window check that fired, not some other BAD_FRAME.
    await expect(s.result).rejects.toThrow(/receive window/);
  });

  it('VERSION_MISMATCH for a manifest of another protocol version', async () => {
    await attack('VERSION_MISMATCH', (peer) => {
      peer.link.send(manifest([{ name: 'a.txt', size: 3 }], 99));
    });
  });
});

describe('receive() against a sender that floods frames', () => {
  /** Frames a hostile sender queues in one go: 1.5 M took an unguarded receiver from 83 to 536 MB. */
  const FLOOD = 200_000;

  it('BAD_FRAME for anything but PING or ERROR while the user is asked, and the prompt is closed', async () => {
    let asked!: () => void;
    const prompting = new Promise<void>((resolve) => {
      asked = resolve;
    });
    let promptClosed: unknown;
    // A prompt that stays open until the transfer fails under it.
    const s = await scene(
      (_, signal) =>
        new Promise<void>((_resolve, reject) => {
          asked();
          signal.addEventListener('abort', () => {
            promptClosed = signal.reason;
            reject(signal.reason);
          });
        }),
    );
    try {
      s.peer.link.send(manifest([{ name: 'a.txt', size: 3 }]));
      await prompting;
      const start = encodeControl({ type: 'file-start', file: 0, offset: 0 });
      for (let i = 0; i < FLOOD && s.peer.frames.length === 0; i++) {
        if (s.peer.link.bufferedAmount() > 1024 * 1024) await new Promise((r) => setTimeout(r, 1));
        s.peer.link.send(start);
      }
      await expectAttackFails(s, 'BAD_FRAME');
      await expect(s.result).rejects.toThrow(/FILE-START before the manifest was accepted/);
      expect(promptClosed).toMatchObject({ code: 'BAD_FRAME' });
    } finally {
      s.peer.close();
    }
  });

  it('BAD_FRAME once control frames outnumber what the manifest allows, before they pile up', async () => {
    const s = await attack('BAD_FRAME', async (peer) => {
      peer.link.send(manifest([{ name: 'a.txt', size: 3 }]));
      await peer.next('accept');
      const start = encodeControl({ type: 'file-start', file: 0, offset: 0 });
      for (let i = 0; i < FLOOD && peer.frames.length < 2; i++) {
        if (peer.link.bufferedAmount() > 1024 * 1024) await new Promise((r) => setTimeout(r, 1));
        peer.link.send(start);
      }
    });
    // Refused as they arrived, while the first FILE_START was still opening its file.
    await expect(s.result).rejects.toThrow(
      /more FILE_START, FILE_END and END frames than the manifest allows/,
    );
  });
});
