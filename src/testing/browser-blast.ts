/**
 * The transport's ceiling between Chromium and the CLI's RTC stack: one data
 * channel between a tab's RTCPeerConnection and node-datachannel on loopback,
 * with the CLI's SCTP settings (rtc/sctp.ts), filled with messages of one
 * size under the same backpressure as the engines (SEND_HIGH_WATER /
 * SEND_LOW_WATER), memory to memory: no peerlane frames, no hashing, no disk.
 * Whatever the page reaches is measured against this (`npm run bench:browser`).
 *
 * The descriptions are exchanged whole once ICE gathering is complete (host
 * candidates on 127.0.0.1 only), through the test's own hands, not a server.
 */
import nodeDataChannel from 'node-datachannel';
import type { Page } from 'playwright-core';
import { SEND_HIGH_WATER, SEND_LOW_WATER } from '../core/transfer/protocol.js';
import { applySctpSettings } from '../rtc/sctp.js';

export interface BlastResult {
  /** MB/s (10^6 bytes) from the first byte received to the last. */
  mbps: number;
  /** The SCTP max message size Chromium read from node-datachannel's description. */
  maxMessageSize: number;
}

/** Bound on one blast: far above any rate worth measuring for the sizes used here. */
const BLAST_LIMIT_MS = 300_000;

/**
 * In the page: an answering RTCPeerConnection, exposed as globalThis.blast,
 * counting what arrives from the moment its channel is announced (a handler
 * set any later would miss what node-datachannel sends as soon as it opens).
 */
const PAGE_SETUP = `(async (offer) => {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const count = { bytes: 0, first: 0, last: 0, target: Infinity, done: () => {} };
  const channel = new Promise((resolve) => {
    pc.ondatachannel = (e) => {
      e.channel.binaryType = 'arraybuffer';
      e.channel.onmessage = (m) => {
        const now = performance.now();
        if (count.first === 0) count.first = now;
        count.last = now;
        count.bytes += m.data.byteLength;
        if (count.bytes >= count.target) count.done();
      };
      resolve(e.channel);
    };
  });
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  await pc.setLocalDescription(await pc.createAnswer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((r) => { pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); });
  }
  globalThis.blast = { pc, channel, count };
  return pc.localDescription.sdp;
})`;

/** In the page: once `total` bytes are in, the ms from the first to the last. */
const PAGE_RECEIVE = `((total) => new Promise((resolve) => {
  const count = globalThis.blast.count;
  count.target = total;
  count.done = () => resolve(count.last - count.first);
  if (count.bytes >= total) count.done();
}))`;

/** In the page: fill `dc` with `total` bytes in `size` messages under the engines' high and low water. */
const PAGE_FILL = `(async (dc, total, size, high, low) => {
  if (dc.readyState !== 'open') await new Promise((r) => { dc.onopen = r; });
  dc.bufferedAmountLowThreshold = low;
  const message = new Uint8Array(size).fill(0x5a);
  for (let sent = 0; sent < total; sent += size) {
    if (dc.bufferedAmount >= high) await new Promise((r) => { dc.onbufferedamountlow = r; });
    dc.send(message);
  }
})`;

/** In the page: send `total` bytes to node-datachannel as PAGE_FILL does. */
const PAGE_SEND = `(async ([total, size, high, low]) => {
  await ${PAGE_FILL}(await globalThis.blast.channel, total, size, high, low);
  return globalThis.blast.pc.sctp.maxMessageSize;
})`;

/**
 * A data channel between `page` and node-datachannel at `mtu`, then
 * `bytes` each way in `messageBytes` messages. The tab needs no particular
 * page: it only uses RTCPeerConnection.
 */
export async function blastBothWays(
  page: Page,
  options: { bytes: number; messageBytes: number; mtu: number; highWater?: number; lowWater?: number },
): Promise<{ toPage: BlastResult; fromPage: BlastResult }> {
  applySctpSettings();
  const pc = new nodeDataChannel.PeerConnection('blast', {
    iceServers: [],
    bindAddress: '127.0.0.1',
    mtu: options.mtu,
  });
  try {
    const gathered = new Promise<void>((resolve) =>
      pc.onGatheringStateChange((s) => s === 'complete' && resolve()),
    );
    const dc = pc.createDataChannel('blast');
    const opened = new Promise<void>((resolve) => dc.onOpen(resolve));
    await gathered;
    const offer = pc.localDescription()?.sdp ?? '';
    const answer = (await page.evaluate(`${PAGE_SETUP}(${JSON.stringify(offer)})`)) as string;
    pc.setRemoteDescription(answer, 'answer');
    await withLimit(opened, 'the blast channel did not open');
    const { bytes, messageBytes } = options;
    const high = options.highWater ?? SEND_HIGH_WATER;
    const low = options.lowWater ?? SEND_LOW_WATER;

    // node-datachannel → page
    const received = page.evaluate(`${PAGE_RECEIVE}(${bytes})`) as Promise<number>;
    await sendFromNode(dc, bytes, messageBytes, high, low);
    const toPageMs = await withLimit(received, 'the page did not receive everything');

    // page → node-datachannel
    let first = 0;
    let got = 0;
    const done = new Promise<number>((resolve) => {
      dc.onMessage((msg) => {
        if (first === 0) first = performance.now();
        got += typeof msg === 'string' ? msg.length : msg.byteLength;
        if (got >= bytes) resolve(performance.now() - first);
      });
    });
    const args = JSON.stringify([bytes, messageBytes, high, low]);
    const maxMessageSize = (await page.evaluate(`${PAGE_SEND}(${args})`)) as number;
    const fromPageMs = await withLimit(done, 'node-datachannel did not receive everything');
    const rate = (ms: number): number => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;
    return {
      toPage: { mbps: rate(toPageMs), maxMessageSize },
      fromPage: { mbps: rate(fromPageMs), maxMessageSize },
    };
  } finally {
    pc.close();
    await page.evaluate('globalThis.blast?.pc.close()').catch(() => {});
  }
}

async function sendFromNode(
  dc: nodeDataChannel.DataChannel,
  total: number,
  size: number,
  high: number,
  low: number,
): Promise<void> {
  const message = Buffer.alloc(size, 0x5a);
  let wake: (() => void) | undefined;
  dc.setBufferedAmountLowThreshold(low);
  dc.onBufferedAmountLow(() => wake?.());
  for (let sent = 0; sent < total; sent += size) {
    while (dc.bufferedAmount() >= high) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    dc.sendMessageBinary(message);
  }
}

/**
 * In the page: two RTCPeerConnections of the same tab over loopback, `total`
 * bytes one way in `size` messages under the same backpressure; the ms from
 * the first byte received to the last. Chromium to itself: what its own data
 * channel carries here, with node-datachannel nowhere in the path.
 */
const PAGE_TO_PAGE = `(async ([total, size, high, low]) => {
  const a = new RTCPeerConnection({ iceServers: [] });
  const b = new RTCPeerConnection({ iceServers: [] });
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const dc = a.createDataChannel('blast');
  let got = 0, first = 0, done;
  const finished = new Promise((r) => { done = r; });
  b.ondatachannel = (e) => {
    e.channel.binaryType = 'arraybuffer';
    e.channel.onmessage = (m) => {
      if (first === 0) first = performance.now();
      got += m.data.byteLength;
      if (got >= total) done(performance.now() - first);
    };
  };
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await ${PAGE_FILL}(dc, total, size, high, low);
  const ms = await finished;
  a.close();
  b.close();
  return ms;
})`;

/**
 * Chromium to itself, one data channel between two connections of `page`
 * (which needs no particular page), memory to memory: MB/s.
 */
export async function blastPageToPage(
  page: Page,
  options: { bytes: number; messageBytes: number; highWater?: number; lowWater?: number },
): Promise<number> {
  const high = options.highWater ?? SEND_HIGH_WATER;
  const low = options.lowWater ?? SEND_LOW_WATER;
  const args = JSON.stringify([options.bytes, options.messageBytes, high, low]);
  const ms = await withLimit(page.evaluate(`${PAGE_TO_PAGE}(${args})`) as Promise<number>, 'page to page');
  return Math.round((options.bytes / 1e6 / (ms / 1000)) * 10) / 10;
}

function withLimit<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${BLAST_LIMIT_MS} ms`)), BLAST_LIMIT_MS);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}
