/**
 * The benchmark's baseline: the same bytes disk to disk over one plain TCP
 * socket between two Node processes, SHA-256 on the receiving side — what
 * magic-wormhole's transit does, minus its encryption.
 *
 *   node dist/scripts/tcp-baseline.js recv <out-file> [host]          prints {"port":N}, then the result
 *   node dist/scripts/tcp-baseline.js send <file> <port> [host]       prints the result
 *
 * `host` (default 127.0.0.1) is where the receiver listens: the WAN lab runs
 * the two sides in network namespaces on either side of its emulated path.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import net from 'node:net';
import { pipeline } from 'node:stream/promises';
import { processUsage } from '../src/session/common.js';

const [mode, file, ...rest] = process.argv.slice(2);
const print = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

if (mode === 'recv' && file) {
  const host = rest[0] ?? '127.0.0.1';
  const server = net.createServer(async (socket) => {
    server.close();
    const hash = createHash('sha256');
    let bytes = 0;
    let first = 0;
    socket.on('data', (chunk: Buffer) => {
      if (first === 0) first = Date.now();
      bytes += chunk.length;
      hash.update(chunk);
    });
    await pipeline(socket, createWriteStream(file));
    const seconds = (Date.now() - first) / 1000;
    print({ event: 'done', bytes, seconds, sha256: hash.digest('hex'), usage: processUsage() });
  });
  server.listen(0, host, () => print({ port: (server.address() as net.AddressInfo).port }));
} else if (mode === 'send' && file && rest[0]) {
  const socket = net.connect(Number(rest[0]), rest[1] ?? '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), socket);
  print({ event: 'done', usage: processUsage() });
} else {
  process.stderr.write('usage: tcp-baseline recv <out> [host] | send <file> <port> [host]\n');
  process.exit(2);
}
