/**
 * One relayed session: two sockets glued together, each direction paused
 * while the other side's send buffer is full (backpressure end to end, so
 * the relay holds at most a socket buffer per direction) or while a rate
 * gate is in debt. The first end — a close, an error, the idle timeout, a
 * spent quota — destroys both sockets, once.
 */
import type net from 'node:net';
import type { AddressQuota, ByteGate } from './gate.js';

export interface RelayEnd {
  socket: net.Socket;
  address: string;
}

export interface SessionControls {
  sessionGate: ByteGate;
  totalGate: ByteGate;
  quota: AddressQuota;
  idleTimeoutMs: number;
  forwarded: (bytes: number) => void;
  ended: (reason: string) => void;
}

export class RelaySession {
  private idle: NodeJS.Timeout | undefined;
  private done = false;

  constructor(
    private readonly a: RelayEnd,
    private readonly b: RelayEnd,
    private readonly controls: SessionControls,
  ) {}

  start(): void {
    this.pipe(this.a, this.b);
    this.pipe(this.b, this.a);
    this.touch();
  }

  end(reason: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.idle);
    this.a.socket.destroy();
    this.b.socket.destroy();
    this.controls.ended(reason);
  }

  private pipe(from: RelayEnd, to: RelayEnd): void {
    let paused = 0;
    const hold = (): void => {
      if (paused++ === 0) from.socket.pause();
    };
    const release = (): void => {
      if (--paused === 0 && !this.done) from.socket.resume();
    };
    from.socket.on('data', (chunk: Buffer) => {
      if (this.done) return;
      this.touch();
      this.controls.forwarded(chunk.length);
      if (!this.controls.quota.spend(from.address, chunk.length)) {
        this.end(`${from.address} spent its relay quota`);
        return;
      }
      if (!to.socket.write(chunk)) {
        hold();
        to.socket.once('drain', release);
      }
      const wait = Math.max(
        this.controls.sessionGate.take(chunk.length),
        this.controls.totalGate.take(chunk.length),
      );
      if (wait > 0) {
        hold();
        setTimeout(release, wait);
      }
    });
    from.socket.on('end', () => this.end('a peer closed its connection'));
    from.socket.on('close', () => this.end('a peer closed its connection'));
    from.socket.on('error', (err) => this.end(`a peer's connection failed: ${err.message}`));
    from.socket.resume();
  }

  /** Re-arm the idle timeout: `refresh()` reuses the timer, cheap enough for every chunk. */
  private touch(): void {
    if (this.idle === undefined) {
      this.idle = setTimeout(() => this.end('idle'), this.controls.idleTimeoutMs);
      this.idle.unref();
    } else this.idle.refresh();
  }
}
