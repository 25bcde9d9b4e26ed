/**
 * The core signal client over an injected transport that is not a socket:
 * what a browser's WebSocket adapter will rely on. The server side here is
 * the test, speaking the real codecs; the client over TCP is proved by the
 * integration tests against the real server.
 */
import { describe, expect, it } from 'vitest';
import type { SignalTransport } from '../../src/core/signaling/client.js';
import { SignalClient } from '../../src/core/signaling/client.js';
import type { ClientMessage, ServerMessage } from '../../src/core/signaling/protocol.js';
import {
  encodeMessage,
  MAX_SIGNAL_MESSAGE_BYTES,
  parseClientMessage,
} from '../../src/core/signaling/protocol.js';

type Outgoing<T> = T extends unknown ? Omit<T, 'v'> : never;

/** One in-memory connection: the server's end is driven by the test. */
class MemoryConnection implements SignalTransport {
  readonly received: ClientMessage[] = [];
  closed = false;
  private data: ((chunk: Uint8Array) => void) | undefined;
  private closeHandler: ((cause: Error | undefined) => void) | undefined;

  write(text: string): void {
    for (const line of text.split('\n').filter((l) => l !== '')) this.received.push(parseClientMessage(line));
  }
  onData(handler: (chunk: Uint8Array) => void): void {
    this.data = handler;
  }
  onClose(handler: (cause: Error | undefined) => void): void {
    this.closeHandler = handler;
  }
  close(): void {
    this.closed = true;
  }

  /** The server sends raw bytes, split where the test likes. */
  sendBytes(bytes: Uint8Array): void {
    this.data?.(bytes);
  }
  send(...msgs: Outgoing<ServerMessage>[]): void {
    this.sendBytes(new TextEncoder().encode(msgs.map((m) => encodeMessage(m)).join('')));
  }
  /** The connection drops. */
  drop(cause?: Error): void {
    this.closed = true;
    this.closeHandler?.(cause);
  }
}

/** A dialer handing out a fresh MemoryConnection per dial, and the list of them. */
function memoryDialer(): { dial: () => Promise<MemoryConnection>; conns: MemoryConnection[] } {
  const conns: MemoryConnection[] = [];
  return {
    conns,
    dial: async () => {
      const c = new MemoryConnection();
      conns.push(c);
      return c;
    },
  };
}

const SID = 'AAECAwQFBgcICQoLDA0ODw'; // bytes 0..15, base64url

/** Lets the client's promise callbacks run. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

describe('SignalClient over an injected transport', () => {
  it('registers and pairs, with messages split and joined anyhow in transit', async () => {
    const { dial, conns } = memoryDialer();
    const client = await SignalClient.connect(dial);
    const conn = conns[0] as MemoryConnection;
    const registered = client.register();
    expect(conn.received).toEqual([{ v: 2, type: 'register' }]);
    const bytes = new TextEncoder().encode(
      encodeMessage({ type: 'registered', nameplate: '42' }) +
        encodeMessage({ type: 'paired', role: 'answerer', sid: SID }),
    );
    for (let i = 0; i < bytes.length; i += 7) conn.sendBytes(bytes.subarray(i, i + 7));
    expect(await registered).toBe('42');
    expect(await client.waitForPeer()).toBe('answerer');
    expect(client.sessionId).toEqual(Uint8Array.from({ length: 16 }, (_, i) => i));
    client.sendPayload('hello');
    expect(conn.received.at(-1)).toEqual({ v: 2, type: 'relay', payload: 'hello' });
    client.close();
    expect(conn.closed).toBe(true);
  });

  it('fails with MESSAGE_TOO_LARGE on an endless line, and closes the transport', async () => {
    const { dial, conns } = memoryDialer();
    const client = await SignalClient.connect(dial);
    const pending = client.register();
    conns[0]?.sendBytes(new Uint8Array(MAX_SIGNAL_MESSAGE_BYTES + 1).fill(0x61));
    await expect(pending).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    expect(conns[0]?.closed).toBe(true);
  });

  it('fails with SIGNAL_CLOSED, saying why, when the connection drops', async () => {
    const { dial, conns } = memoryDialer();
    const client = await SignalClient.connect(dial);
    const failures: string[] = [];
    client.onFailure((err) => failures.push(err.code));
    const pending = client.register();
    conns[0]?.drop(new Error('connection reset'));
    await expect(pending).rejects.toMatchObject({ code: 'SIGNAL_CLOSED', message: 'connection reset' });
    expect(failures).toEqual(['SIGNAL_CLOSED']);
  });

  it('reclaims its nameplate over a new dial when the connection drops while it waits', async () => {
    const { dial, conns } = memoryDialer();
    const client = await SignalClient.connect(dial);
    const registered = client.register();
    conns[0]?.send({ type: 'registered', nameplate: '7', resume: SID });
    expect(await registered).toBe('7');
    const paired = client.waitForPeer();
    conns[0]?.drop();
    // The first reconnect waits 75 to 125 ms.
    for (let i = 0; i < 50 && conns.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const again = conns[1] as MemoryConnection;
    expect(again.received).toEqual([{ v: 2, type: 'reclaim', nameplate: '7', token: SID }]);
    // The reclaim's own answer is not the caller's: the caller waits for the peer.
    again.send({ type: 'registered', nameplate: '7' }, { type: 'paired', role: 'answerer', sid: SID });
    expect(await paired).toBe('answerer');
    client.close();
    expect(again.closed).toBe(true);
  });

  it('reports nothing once closed by us, whatever the transport says after', async () => {
    const { dial, conns } = memoryDialer();
    const client = await SignalClient.connect(dial);
    const failures: string[] = [];
    client.onFailure((err) => failures.push(err.code));
    client.close();
    conns[0]?.drop(new Error('late'));
    await settle();
    expect(failures).toEqual([]);
  });
});
