/**
 * The secure layer between the paired peers: a CPace handshake over the
 * signal server's relay, explicit key confirmation, then every signaling
 * payload (SDP offer, answer, ICE candidates) sealed with AES-256-GCM.
 *
 *   offerer (a)                  signal server                 answerer (b)
 *      | -- pake{Ya, ADa} ---------> relay ---------------------------> |
 *      | <------------------------- relay <--------- pake{Yb, ADb} ---- |
 *      |   both: K, ISK, keys = HKDF(ISK, transcript)                     |
 *      | -- confirm{tagA} ---------> relay ---------------------------> |  b checks tagA
 *      | <------------------------- relay <--------- confirm{tagB} ---- |  a checks tagB
 *      | == sealed{offer} / sealed{answer} / sealed{candidate} ======== |
 *
 * The server sees the nameplate, two public shares, two tags and ciphertext.
 * The SDP carries the DTLS fingerprints, so sealing it binds the data channel
 * to the PAKE: a server that swaps fingerprints cannot produce a valid box.
 * A wrong code gives each side a different key; both tags fail and both
 * sides stop with BAD_CODE before any SDP is sent.
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { SignalPipe } from '../rtc/connect.js';
import type { PeerRole } from '../signaling/protocol.js';
import type { CpaceParty, SessionKeys } from './cpace.js';
import { confirmationTag, startCpace, tagsEqual } from './cpace.js';
import type { Intent } from './protocol.js';
import { encodeSecureMessage, parseSecureMessage, SECURE_PROTOCOL_VERSION } from './protocol.js';

export interface HandshakeOptions {
  role: PeerRole;
  /** What this side means to do; the peer must mean the opposite. */
  intent: Intent;
  nameplate: string;
  /** The secret words of the code: the PAKE password. */
  secret: string;
  timeoutMs: number;
  /**
   * Our CPace share, if already started (see startKeyExchange): a waiting side
   * computes it while it waits, a joining side while its connection opens.
   */
  party?: CpaceParty | undefined;
}

const GCM_NONCE_BYTES = 12;
const GCM_TAG_BYTES = 16;

/** A SignalPipe whose payloads are sealed under the PAKE session key. */
export class SecureChannel implements SignalPipe {
  private sendCounter = 0n;
  private receiveCounter = 0n;
  private handler: ((payload: string) => void) | undefined;
  private early: string[] = [];
  private failureHandler: ((err: PeerlaneError) => void) | undefined;
  private failure: PeerlaneError | undefined;

  constructor(
    private readonly client: SignalPipe,
    private readonly sealKey: Buffer,
    private readonly openKey: Buffer,
    /** Root of the short authentication string; see `shortAuthString`. */
    readonly sasKey: Buffer,
  ) {}

  sendPayload(payload: string): void {
    const nonce = counterNonce(this.sendCounter++);
    const cipher = createCipheriv('aes-256-gcm', this.sealKey, nonce);
    const box = Buffer.concat([cipher.update(payload, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    this.client.sendPayload(encodeSecureMessage({ kind: 'sealed', box: box.toString('base64') }));
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
      const box = Buffer.from(msg.box, 'base64');
      if (box.length < GCM_TAG_BYTES) throw new PeerlaneError('BAD_MESSAGE', 'sealed box too short');
      const decipher = createDecipheriv('aes-256-gcm', this.openKey, counterNonce(this.receiveCounter++));
      decipher.setAuthTag(box.subarray(box.length - GCM_TAG_BYTES));
      let plain: string;
      try {
        plain = Buffer.concat([
          decipher.update(box.subarray(0, box.length - GCM_TAG_BYTES)),
          decipher.final(),
        ]).toString('utf8');
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

/** 96-bit GCM nonce from a per-direction message counter: unique per key, never random. */
function counterNonce(counter: bigint): Buffer {
  const nonce = Buffer.alloc(GCM_NONCE_BYTES);
  nonce.writeBigUInt64BE(counter, GCM_NONCE_BYTES - 8);
  return nonce;
}

function channelId(nameplate: string): string {
  return `peerlane/${SECURE_PROTOCOL_VERSION}/nameplate=${nameplate}`;
}

/**
 * Our side of the PAKE for the code's words in this nameplate's channel. Its
 * two group operations cost about 10 ms of CPU, so callers start it wherever
 * they would otherwise only wait, and hand it to secureHandshake.
 */
export function startKeyExchange(secret: string, nameplate: string): CpaceParty {
  return startCpace(secret, channelId(nameplate));
}

function associatedData(role: PeerRole, intent: Intent): string {
  return `role=${role};intent=${intent}`;
}

const OPPOSITE: Record<Intent, Intent> = { send: 'receive', receive: 'send' };

/**
 * Run the PAKE over a paired signal connection (any pipe that relays payloads
 * in order: a SignalClient, or an in-memory one in the load test). Resolves with
 * a SecureChannel once both key-confirmation tags check out; rejects with
 * BAD_CODE otherwise.
 */
export function secureHandshake(client: SignalPipe, options: HandshakeOptions): Promise<SecureChannel> {
  const party = options.party ?? startKeyExchange(options.secret, options.nameplate);
  const isA = options.role === 'offerer';
  const myAd = associatedData(options.role, options.intent);
  const peerRole: PeerRole = isA ? 'answerer' : 'offerer';
  const expectedPeerAd = associatedData(peerRole, OPPOSITE[options.intent]);

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
        share: party.share.toString('base64'),
        ad: myAd,
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
          if (msg.v !== SECURE_PROTOCOL_VERSION) {
            throw new PeerlaneError('VERSION_MISMATCH', `the peer speaks secure protocol ${msg.v}`);
          }
          if (msg.ad !== expectedPeerAd) {
            throw new PeerlaneError(
              'BAD_CODE',
              msg.ad.endsWith(`intent=${options.intent}`)
                ? `both sides want to ${options.intent}`
                : 'the peer announced an unexpected role',
              {
                hint: 'one side runs `peer send`, the other `peer receive`: start again, and use the new code',
              },
            );
          }
          const peerShare = Buffer.from(msg.share, 'base64');
          keys = party.finish(peerShare, {
            shareA: isA ? party.share : peerShare,
            adA: isA ? myAd : msg.ad,
            shareB: isA ? peerShare : party.share,
            adB: isA ? msg.ad : myAd,
          });
          const tag = confirmationTag(
            isA ? keys.confirmA : keys.confirmB,
            isA ? 'a' : 'b',
            keys.transcriptHash,
          );
          client.sendPayload(encodeSecureMessage({ kind: 'confirm', tag: tag.toString('base64') }));
          return;
        }
        if (msg.kind === 'confirm' && keys !== undefined) {
          const expected = confirmationTag(
            isA ? keys.confirmB : keys.confirmA,
            isA ? 'b' : 'a',
            keys.transcriptHash,
          );
          if (!tagsEqual(Buffer.from(msg.tag, 'base64'), expected)) {
            throw new PeerlaneError('BAD_CODE', 'the code is wrong (key confirmation failed)');
          }
          channel = new SecureChannel(
            client,
            isA ? keys.sealAB : keys.sealBA,
            isA ? keys.sealBA : keys.sealAB,
            keys.sas,
          );
          settled = true;
          clearTimeout(timer);
          resolve(channel);
          return;
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
export function shortAuthString(sasKey: Buffer, fingerprintA: string, fingerprintB: string): string {
  const [first, second] = [fingerprintA.toUpperCase(), fingerprintB.toUpperCase()].sort();
  const bytes = Buffer.from(
    hkdfSync('sha256', sasKey, Buffer.alloc(0), `peerlane sas ${first} ${second}`, 8),
  );
  const words: string[] = [];
  for (let i = 0; i < 4; i++) words.push(wordlist[bytes.readUInt16BE(i * 2) % wordlist.length] ?? '?');
  return words.join(' ');
}
