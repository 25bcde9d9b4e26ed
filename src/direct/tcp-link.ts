/**
 * A MessageLink over one TCP connection whose handshake (handshake.ts) gave
 * both sides the same two keys: every message travels as one record,
 * len(4) · AES-256-GCM(message) · tag, with a per-direction counter nonce.
 * A record that fails authentication, or claims more than a record may hold,
 * ends the link: whoever changed it is not the peer.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type net from 'node:net';
import { GCM_TAG_BYTES, LENGTH_BYTES, MAX_RECORD_PLAINTEXT, USE_RECORD } from '../core/direct/protocol.js';
import { PeerlaneError } from '../core/errors.js';
import type { MessageLink, PathInfo } from '../core/link.js';
import { LinkState } from '../core/link-state.js';
import { directReach } from '../core/reach.js';
import { counterNonce } from '../core/secure/channel.js';
import { RecordReader } from './record-reader.js';

export interface DirectKeys {
  seal: Buffer;
  open: Buffer;
  /** Our HELLO nonce and the peer's, hex: the --verify words bind them. */
  localNonce: string;
  remoteNonce: string;
}

/** A dead peer's unacknowledged data can hold `end()` for minutes; after this the socket is destroyed. */
const CLOSE_LINGER_MS = 2_000;

export class TcpLink extends LinkState implements MessageLink {
  readonly transport: 'tcp' | 'relay';
  private sendCounter = 0n;
  private receiveCounter = 0n;
  private readonly reader: RecordReader;
  private drainHandler: (() => void) | undefined;
  /** The side that did not choose waits for USE before anything else. */
  private awaitingUse: boolean;
  private markUsed: () => void = () => {};
  /** Resolves when the peer's USE arrived (the answerer's side only). */
  readonly used: Promise<void>;

  constructor(
    private readonly socket: net.Socket,
    private readonly keys: DirectKeys,
    /** Bytes that arrived with the handshake's last message, already past it. */
    leftover: Buffer,
    /** `relayed`: the connection goes to the signal server's relay, not to the peer. */
    options: { expectUse: boolean; relayed?: boolean },
  ) {
    super();
    this.transport = options.relayed === true ? 'relay' : 'tcp';
    this.awaitingUse = options.expectUse;
    this.used = new Promise((resolve) => {
      this.markUsed = resolve;
    });
    this.reader = new RecordReader(GCM_TAG_BYTES, MAX_RECORD_PLAINTEXT + GCM_TAG_BYTES, {
      onRecord: (record) => this.open(record),
      onBadLength: (length) => this.fail(`a record of ${length} bytes`),
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('error', (err) => this.ended(new PeerlaneError('PEER_LOST', `TCP error: ${err.message}`)));
    socket.on('close', () => this.ended(new PeerlaneError('PEER_LOST', 'the TCP connection closed')));
    if (leftover.length > 0) this.received(leftover);
    socket.resume(); // the handshake paused it
  }

  /** Tell the peer this connection carries the transfer (the offerer's choice). */
  sendUse(): void {
    this.send(USE_RECORD);
  }

  maxMessageSize(): number {
    return MAX_RECORD_PLAINTEXT;
  }

  bufferedAmount(): number {
    return this.socket.writableLength;
  }

  /**
   * Node tells when its buffer has drained into the kernel's; the threshold is
   * not needed. As on a data channel, a new handler replaces the last.
   */
  onBufferedAmountLow(_threshold: number, handler: () => void): void {
    if (this.drainHandler === undefined) this.socket.on('drain', () => this.drainHandler?.());
    this.drainHandler = handler;
  }

  send(data: Uint8Array): void {
    if (this.closedWith !== undefined) throw this.closedWith;
    if (data.length > MAX_RECORD_PLAINTEXT)
      throw new PeerlaneError('INTERNAL', `a ${data.length}-byte message does not fit one record`);
    const cipher = createCipheriv('aes-256-gcm', this.keys.seal, counterNonce(this.sendCounter++));
    const length = Buffer.alloc(LENGTH_BYTES);
    length.writeUInt32BE(data.length + GCM_TAG_BYTES);
    // Corked, the four pieces leave as one write without being copied together.
    this.socket.cork();
    this.socket.write(length);
    this.socket.write(cipher.update(data));
    this.socket.write(cipher.final());
    this.socket.write(cipher.getAuthTag());
    process.nextTick(() => this.socket.uncork());
  }

  get isOpen(): boolean {
    return this.closedWith === undefined && !this.socket.destroyed;
  }

  pathInfo(): PathInfo {
    if (this.transport === 'relay') return { path: 'relay', local: 'relay', remote: 'relay' };
    const local = { type: 'host', address: this.socket.localAddress ?? '' };
    const remote = { type: 'host', address: this.socket.remoteAddress ?? '' };
    return { path: 'direct', local: 'host', remote: 'host', reach: directReach(local, remote) };
  }

  fingerprints(): { local: string; remote: string } {
    return { local: this.keys.localNonce, remote: this.keys.remoteNonce };
  }

  close(): void {
    if (!this.beginClose()) return;
    // end(), not destroy(): what we queued last (an ERROR frame, say) still leaves.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS).unref();
  }

  private received(chunk: Buffer): void {
    if (this.closedWith === undefined) this.reader.push(chunk);
  }

  /** Decrypt one record (valid only during this call: record-reader.ts); false once the link failed. */
  private open(record: Buffer): boolean {
    const decipher = createDecipheriv('aes-256-gcm', this.keys.open, counterNonce(this.receiveCounter++));
    decipher.setAuthTag(record.subarray(record.length - GCM_TAG_BYTES));
    let plain: Buffer;
    try {
      plain = decipher.update(record.subarray(0, record.length - GCM_TAG_BYTES));
      // GCM is a stream mode: final() only checks the tag and gives no bytes, so
      // the plaintext is update()'s buffer as it is, not a 256 KiB copy of it.
      const rest = decipher.final();
      if (rest.length > 0) plain = Buffer.concat([plain, rest]);
    } catch {
      this.fail('a record that failed authentication');
      return false;
    }
    if (this.awaitingUse) {
      if (!plain.equals(USE_RECORD)) {
        this.fail('a first record other than USE');
        return false;
      }
      this.awaitingUse = false;
      this.markUsed();
    } else this.deliver(plain);
    return this.closedWith === undefined;
  }

  private fail(what: string): void {
    this.ended(new PeerlaneError('PEER_LOST', `the direct connection carried ${what}; closed it`));
    this.socket.destroy();
  }
}
