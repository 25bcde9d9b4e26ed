/**
 * libdatachannel's debug log is an option a session passes down
 * (RtcOptions.debugIce, which the CLI sets from --debug-ice or
 * PEERLANE_DEBUG_ICE); the library itself reads no environment. A file of its
 * own: the native log is one per process, and once on it stays on.
 */
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { send } from '../../src/session/send.js';
import { writeRandomFile } from '../../src/testing/files.js';
import { Harness, LOOPBACK } from '../../src/testing/harness.js';
import { startReceiver } from '../../src/testing/in-process.js';

let h: Harness;
let server: Awaited<ReturnType<Harness['signalServer']>>;
/** libdatachannel's lines echoed on stderr, kept out of the test output (teardown logs some late). */
const echoed: string[] = [];

beforeAll(() => {
  const write = process.stderr.write.bind(process.stderr) as (...args: unknown[]) => boolean;
  vi.spyOn(process.stderr, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    if (String(chunk).startsWith('[rtc ')) {
      echoed.push(String(chunk));
      return true;
    }
    return write(chunk, ...rest);
  }) as typeof process.stderr.write);
});
beforeEach(async () => {
  h = new Harness();
  server = await h.signalServer();
});
afterEach(() => h.cleanup());

/** One small transfer over the data channel; returns the lines echoed meanwhile. */
async function transfer(debugIce: boolean): Promise<string[]> {
  const before = echoed.length;
  const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 10_000, transport: 'webrtc' as const };
  const file = path.join(await h.tempDir(), 'a.bin');
  await writeRandomFile(file, 1000);
  const rx = startReceiver({ signal: server, rtc: { ...rtc, debugIce }, outDir: await h.tempDir() });
  await send({ signal: server, rtc, paths: [file], code: await rx.code });
  await rx.result;
  return echoed.slice(before);
}

describe('RtcOptions.debugIce', () => {
  it("prints libdatachannel's log on stderr when asked, and not because of the environment", async () => {
    process.env.PEERLANE_DEBUG_ICE = '1';
    try {
      expect(await transfer(false)).toEqual([]);
    } finally {
      delete process.env.PEERLANE_DEBUG_ICE;
    }
    const echoed = await transfer(true);
    expect(echoed.some((line) => line.startsWith('[rtc Debug] '))).toBe(true);
    expect(echoed.some((line) => /DTLS handshake finished/.test(line))).toBe(true);
  });
});
