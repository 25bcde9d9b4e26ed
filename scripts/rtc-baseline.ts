/**
 * The benchmark's floor: what the data channel alone costs. The same number of
 * bytes, memory to memory, through peerlane's own RTC layer (connectPeer and
 * Link: the same SCTP MTU, message size and send backpressure), with no disk,
 * no hashing and no framing. Its CPU per GiB is what libdatachannel takes
 * before peerlane does any work, so it bounds what any transfer over it can
 * reach on a given number of cores.
 *
 *   node dist/scripts/rtc-baseline.js recv <bytes>          prints {"port":N}, then the result
 *   node dist/scripts/rtc-baseline.js send <bytes> <port>   prints the result
 *
 * The two sides exchange the offer, answer and candidates as lines over one
 * loopback TCP socket; ICE uses host candidates on 127.0.0.1 only.
 */
import net from 'node:net';
import readline from 'node:readline';
import { PeerlaneError } from '../src/core/errors.js';
import type { SignalPipe } from '../src/core/signaling/pipe.js';
import {
  CHUNK_SIZE,
  DATA_HEADER_BYTES,
  SEND_HIGH_WATER,
  SEND_LOW_WATER,
} from '../src/core/transfer/protocol.js';
import { connectPeer } from '../src/rtc/connect.js';
import type { Link } from '../src/rtc/link.js';
import { processUsage } from '../src/session/common.js';

const [mode, bytesArg, port] = process.argv.slice(2);
const total = Number(bytesArg);
const LOOPBACK = '127.0.0.1';
/** A DATA frame's size on the wire, as the sender cuts them. */
const MESSAGE_BYTES = CHUNK_SIZE + DATA_HEADER_BYTES;
const DONE = Buffer.from('done');

const print = (o: object): void => {
  process.stdout.write(`${JSON.stringify(o)}\n`);
};

/** Signaling payloads as lines over a socket. */
function linePipe(socket: net.Socket): SignalPipe {
  const lines = readline.createInterface({ input: socket });
  return {
    sendPayload: (payload) => socket.write(`${payload}\n`),
    onPayload: (handler) => lines.on('line', handler),
    onFailure: (handler) =>
      socket.on('error', (err) => handler(new PeerlaneError('SIGNAL_CLOSED', err.message))),
  };
}

const rtc = { iceServers: [], bindAddress: LOOPBACK, timeoutMs: 20_000 };

async function receive(socket: net.Socket): Promise<void> {
  const link = await connectPeer('answerer', linePipe(socket), rtc);
  let bytes = 0;
  let first = 0;
  await new Promise<void>((resolve) => {
    link.onMessage((msg) => {
      if (first === 0) first = Date.now();
      bytes += msg.length;
      if (bytes >= total) resolve();
    });
  });
  const seconds = (Date.now() - first) / 1000;
  link.send(DONE);
  print({ event: 'done', bytes, seconds, usage: processUsage() });
}

async function sendAll(link: Link): Promise<void> {
  const message = Buffer.alloc(MESSAGE_BYTES, 0x5a);
  let wake: (() => void) | undefined;
  link.onBufferedAmountLow(SEND_LOW_WATER, () => wake?.());
  const finished = new Promise<void>((resolve) => link.onMessage(() => resolve()));
  for (let sent = 0; sent < total; ) {
    while (link.bufferedAmount() >= SEND_HIGH_WATER) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    const n = Math.min(MESSAGE_BYTES, total - sent);
    link.send(n === MESSAGE_BYTES ? message : message.subarray(0, n));
    sent += n;
  }
  await finished;
}

if (mode === 'recv' && total > 0) {
  const server = net.createServer((socket) => {
    server.close();
    receive(socket).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`rtc-baseline recv: ${String(err)}\n`);
        process.exit(1);
      },
    );
  });
  server.listen(0, LOOPBACK, () => print({ port: (server.address() as net.AddressInfo).port }));
} else if (mode === 'send' && total > 0 && port) {
  const socket = net.connect(Number(port), LOOPBACK);
  await new Promise((resolve) => socket.once('connect', resolve));
  const link = await connectPeer('offerer', linePipe(socket), rtc);
  await sendAll(link);
  print({ event: 'done', usage: processUsage() });
  // node-datachannel's native threads can outlive the last handle.
  process.exit(0);
} else {
  process.stderr.write('usage: rtc-baseline recv <bytes> | send <bytes> <port>\n');
  process.exit(2);
}
