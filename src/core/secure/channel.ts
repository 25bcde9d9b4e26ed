/**
 * The secure layer between the paired peers: a CPace handshake over the
 * signal server's relay, explicit key confirmation, then every signaling
 * payload (SDP offer, answer, ICE candidates) sealed with AES-256-GCM.
 *
 *   offerer (a, joined)          signal server                 answerer (b, drew the code)
 *      | <---------- paired{sid} -- | -- paired{sid} ---------------------> |
 *      | -- pake{Ya, ADa} ---------> relay ---------------------------> |
 *      | <------------------------- relay <--------- pake{Yb, ADb} ---- |
 *      |   both: K, ISK, tags, keys (cpace.ts)                            |
 *      | <------------------------- relay <--------- confirm{Tb} ------ |  b: at once
 *      |   a checks Tb; only then:                                        |
 *      | -- confirm{Ta} -----------> relay ---------------------------> |  b checks Ta
 *      | == sealed{offer} / sealed{answer} / sealed{candidate} ======== |
 *
 * The server sees the nameplate, the session id it chose, two public shares,
 * two tags and ciphertext. The SDP carries the DTLS fingerprints, so sealing it
 * binds the data channel to the PAKE: a server that swaps fingerprints cannot
 * produce a valid box. A wrong code gives each side a different key: the side
 * that checks a tag first stops with BAD_CODE before any SDP is sent, and says
 * `refused` in the clear so that the other stops with BAD_CODE too.
 *
 * Why b confirms first. A server in the middle can run CPace with each side
 * under a password it guesses: one online guess per side, so two per pairing,
 * whatever the order, because a side accepting a forged tag is itself the
 * answer. No ordering gets below that; what the order decides is which guess
 * is quiet. A tag lets the server check its guess offline and then drop the
 * connection as if the network failed. So the side that reveals its tag
 * unasked is b, which drew the code: its words are spent with this one pairing
 * (the nameplate goes, a new run draws new words). a typed the code and may
 * try it again after a failure; it reveals nothing keyed until b's tag has
 * proved the words, so each guess against a ends in BAD_CODE on its screen,
 * never in a silent oracle the server could renew by faking a network error.
 * pair.ts refuses a server that assigns the roles the other way round.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { bytesToUtf8 } from '@noble/ciphers/utils.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { utf8ToBytes } from '@noble/hashes/utils.js';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { fromBase64, toBase64 } from '../bytes.js';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { SignalPipe } from '../signaling/pipe.js';
import type { PeerRole } from '../signaling/protocol.js';
import type { SessionKeys } from './cpace.js';
import { lvCat, startCpace, tagsEqual } from './cpace.js';
import type { Intent, SecureMessage } from './protocol.js';
import { encodeSecureMessage, parseSecureMessage, SECURE_PROTOCOL_VERSION } from './protocol.js';

export interface HandshakeOptions {
  role: PeerRole;
  /** What this side means to do; the peer must mean the opposite. */
  intent: Intent;
  nameplate: string;
  /** The secret words of the code: the PAKE password. */
  secret: string;
  /** CPace's sid: the random bytes the signal server handed out with `paired`. */
  sid: Uint8Array;
  timeoutMs: number;
}

const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;

/**
 * A SignalPipe whose payloads are sealed under the PAKE session key. Sealing
 * is @noble/ciphers' AES-GCM, which runs in a browser too: a payload is a few
 * hundred bytes, a session seals a few dozen, and each costs about 0.2 ms
 * (`npm run bench:crypto`). The direct TCP link seals file data, and keeps
 * node:crypto (direct/tcp-link.ts).
 */
export class SecureChannel implements SignalPipe {
  private sendCounter = 0n;
  private receiveCounter = 0n;
  private handler: ((payload: string) => void) | undefined;
  private early: string[] = [];
  private failureHandler: ((err: PeerlaneError) => void) | undefined;
  private failure: PeerlaneError | undefined;

  constructor(
    private readonly client: SignalPipe,
    private readonly sealKey: Uint8Array,
    private readonly openKey: Uint8Array,
    /** Root of the short authentication string; see `shortAuthString`. */
    readonly sasKey: Uint8Array,
  ) {}

  sendPayload(payload: string): void {
    const box = gcm(this.sealKey, counterNonce(this.sendCounter++)).encrypt(utf8ToBytes(payload));
    this.client.sendPayload(encodeSecureMessage({ kind: 'sealed', box: toBase64(box) }));
  }

  onPayload(handler: (payload: string) => void): void {
    this.handler = handler;
    for (const p of this.early.splice(0)) handler(p);
  }

  onFailure(handler: (err: PeerlaneError) => void): void {
    this.failureHandler = handler;
    if (this.failure !== undefined) handler(this.failure);
  }

  /** Feed a raw relayed payload (after the handshake). */
  receive(raw: string): void {
    try {
      const msg = parseSecureMessage(raw);
      if (msg.kind !== 'sealed')
        throw new PeerlaneError('BAD_MESSAGE', `unexpected ${msg.kind} after the handshake`);
      const box = fromBase64(msg.box);
      if (box.length < GCM_TAG_BYTES) throw new PeerlaneError('BAD_MESSAGE', 'sealed box too short');
      const opener = gcm(this.openKey, counterNonce(this.receiveCounter++));
      let plain: string;
      try {
        plain = bytesToUtf8(opener.decrypt(box));
      } catch {
        // Forged, replayed, reordered or dropped: whoever relays it is tampering.
        throw new PeerlaneError('BAD_MESSAGE', 'a sealed signaling message failed authentication');
      }
      if (this.handler !== undefined) this.handler(plain);
      else this.early.push(plain);
    } catch (err) {
      this.fail(toPeerlaneError(err, 'BAD_MESSAGE'));
    }
  }

  fail(err: PeerlaneError): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.failureHandler?.(err);
  }
}

/**
 * 96-bit GCM nonce from a per-direction message counter: unique per key,
 * never random. The counter goes big-endian into the last 8 bytes as two
 * 32-bit halves: the direct link takes one per record, and a DataView per
 * call costs several times as much.
 */
export function counterNonce(counter: bigint): Uint8Array {
  const nonce = new Uint8Array(GCM_NONCE_BYTES);
  putUint32(nonce, GCM_NONCE_BYTES - 8, Number(counter >> 32n));
  putUint32(nonce, GCM_NONCE_BYTES - 4, Number(counter & 0xffffffffn));
  return nonce;
}

function putUint32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

/** CPace's CI: binds the secure protocol version and the nameplate; never sent. */
export function channelId(nameplate: string): Uint8Array {
  return lvCat('peerlane', String(SECURE_PROTOCOL_VERSION), nameplate);
}

function associatedData(role: PeerRole, intent: Intent): string {
  return `role=${role};intent=${intent}`;
}

const OPPOSITE: Record<Intent, Intent> = { send: 'receive', receive: 'send' };

/** The peer's share and AD, checked: the version, and the opposite role and intent of ours. */
function checkPeerPake(msg: Extract<SecureMessage, { kind: 'pake' }>, options: HandshakeOptions): void {
  if (msg.v !== SECURE_PROTOCOL_VERSION) {
    throw new PeerlaneError(
      'VERSION_MISMATCH',
      `the peer speaks secure protocol ${msg.v}, this side ${SECURE_PROTOCOL_VERSION}: upgrade the older one`,
    );
  }
  const peerRole: PeerRole = options.role === 'offerer' ? 'answerer' : 'offerer';
  if (msg.ad !== associatedData(peerRole, OPPOSITE[options.intent])) {
    throw new PeerlaneError(
      'BAD_CODE',
      msg.ad.endsWith(`intent=${options.intent}`)
        ? `both sides want to ${options.intent}`
        : 'the peer announced an unexpected role',
      { hint: 'one side runs `peer send`, the other `peer receive`: start again, and use the new code' },
    );
  }
}

function sendTag(client: SignalPipe, tag: Uint8Array): void {
  client.sendPayload(encodeSecureMessage({ kind: 'confirm', tag: toBase64(tag) }));
}

/**
 * The peer's tag checked: the channel under the session keys, after our own tag
 * if we are a (see the top of this file). Throws BAD_CODE, having told the peer.
 */
function confirmed(client: SignalPipe, keys: SessionKeys, isA: boolean, tag: Uint8Array): SecureChannel {
  if (!tagsEqual(tag, isA ? keys.tagB : keys.tagA)) {
    // So that the peer, which confirmed and waits, stops with BAD_CODE too.
    client.sendPayload(encodeSecureMessage({ kind: 'refused' }));
    throw new PeerlaneError('BAD_CODE', 'the code is wrong (key confirmation failed)');
  }
  if (isA) sendTag(client, keys.tagA); // only now that b has proved the words
  return new SecureChannel(
    client,
    isA ? keys.sealAB : keys.sealBA,
    isA ? keys.sealBA : keys.sealAB,
    keys.sas,
  );
}

/**
 * Run the PAKE over a paired signal connection (any pipe that relays payloads
 * in order: a SignalClient, or an in-memory one in the load test). Resolves with
 * a SecureChannel once the peer's key-confirmation tag checks out (and, for the
 * offerer, once its own tag is sent); rejects with BAD_CODE otherwise. The
 * order of the tags is the one argued at the top of this file.
 */
export function secureHandshake(client: SignalPipe, options: HandshakeOptions): Promise<SecureChannel> {
  const isA = options.role === 'offerer';
  const ad = associatedData(options.role, options.intent);
  const party = startCpace({
    prs: options.secret,
    ci: channelId(options.nameplate),
    sid: options.sid,
    ad,
    initiator: isA,
  });
  return new Promise<SecureChannel>((resolve, reject) => {
    let keys: SessionKeys | undefined;
    let channel: SecureChannel | undefined;
    let settled = false;
    const timer = setTimeout(
      () => fail(new PeerlaneError('CONNECT_TIMEOUT', 'the peer did not complete the key exchange in time')),
      options.timeoutMs,
    );

    function fail(err: PeerlaneError): void {
      if (settled) {
        channel?.fail(err);
        return;
      }
      settled = true;
      clearTimeout(timer);
      reject(err);
    }

    client.onFailure((err) => fail(err));
    // Our share goes out first: registering the handler below may process a
    // share that already arrived, and our confirm must never precede our share.
    client.sendPayload(
      encodeSecureMessage({
        kind: 'pake',
        v: SECURE_PROTOCOL_VERSION,
        share: toBase64(party.share),
        ad,
      }),
    );
    client.onPayload((raw) => {
      if (channel !== undefined) {
        channel.receive(raw);
        return;
      }
      try {
        const msg = parseSecureMessage(raw);
        if (msg.kind === 'pake' && keys === undefined) {
          checkPeerPake(msg, options);
          keys = party.finish(fromBase64(msg.share), msg.ad);
          if (!isA) sendTag(client, keys.tagB); // b confirms unasked: see the top of this file
          return;
        }
        if (msg.kind === 'confirm' && keys !== undefined) {
          channel = confirmed(client, keys, isA, fromBase64(msg.tag));
          settled = true;
          clearTimeout(timer);
          resolve(channel);
          return;
        }
        if (msg.kind === 'refused') {
          throw new PeerlaneError('BAD_CODE', 'the code is wrong (the peer refused our key confirmation)');
        }
        throw new PeerlaneError('BAD_MESSAGE', `unexpected ${msg.kind} during the key exchange`);
      } catch (err) {
        fail(toPeerlaneError(err, 'BAD_MESSAGE'));
      }
    });
  });
}

/**
 * A short authentication string from the session key and both DTLS
 * fingerprints: the same four words on both sides unless someone sits in the
 * middle of the data channel. Order-independent, so both sides compute it alike.
 */
export function shortAuthString(sasKey: Uint8Array, fingerprintA: string, fingerprintB: string): string {
  const [first, second] = [fingerprintA.toUpperCase(), fingerprintB.toUpperCase()].sort();
  const bytes = hkdf(sha256, sasKey, undefined, utf8ToBytes(`peerlane sas ${first} ${second}`), 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const words: string[] = [];
  for (let i = 0; i < 4; i++) words.push(wordlist[view.getUint16(i * 2) % wordlist.length] ?? '?');
  return words.join(' ');
}
