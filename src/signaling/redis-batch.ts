/**
 * Writes to Redis in batches: what one turn of the event loop asks of Redis
 * is held (the socket corked) and written at the end of that turn, in one go.
 *
 * Why: on a busy instance, writing to Redis was the largest cost, far above
 * what the bytes take: each loopback write wakes redis-server, paid for by the
 * writer. Holding a batch until an earlier one is answered (as Nagle does)
 * was tried, and cost more than it saved.
 *
 * Messages to the same pub/sub channel in one batch are joined into one
 * PUBLISH, so redis-server and the subscriber also handle one message, not
 * many; the subscriber splits them again (envelope.ts).
 */
import type { Redis } from 'ioredis';

export class RedisBatch<R extends Redis> {
  /** Messages of the open batch, joined, by channel. */
  private readonly outbox = new Map<string, string>();
  /** The open batch: settles once it is written and its PUBLISHes answered. */
  private open: Promise<void> | undefined;

  constructor(private readonly redis: R) {}

  /** Send `command` with the open batch; resolves with its answer. */
  run<T>(command: (redis: R) => Promise<T>): Promise<T> {
    void this.batch();
    return command(this.redis);
  }

  /** Append `text` to what the open batch publishes on `channel`; settles once that is published. */
  publish(channel: string, text: string): Promise<void> {
    this.outbox.set(channel, (this.outbox.get(channel) ?? '') + text);
    return this.batch();
  }

  /** Settles once what was published so far is written and answered. */
  async drain(): Promise<void> {
    await this.open?.catch(() => {});
  }

  private batch(): Promise<void> {
    if (this.open !== undefined) return this.open;
    // Not ready: ioredis queues commands until it is, and there is no socket to hold.
    const stream = this.redis.status === 'ready' ? this.redis.stream : undefined;
    stream?.cork();
    this.open = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const published = [...this.outbox].map(([channel, text]) => this.redis.publish(channel, text));
      this.outbox.clear();
      this.open = undefined;
      stream?.uncork();
      return Promise.all(published).then(() => {});
    });
    // A failed PUBLISH is its publishers' to report; for every other caller it is handled here.
    this.open.catch(() => {});
    return this.open;
  }
}
