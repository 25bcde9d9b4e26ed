/**
 * The secure layer's handshake between the paired peers: a CPace key
 * exchange over the signal server's relay and explicit key confirmation,
 * ending in the sealed channel (channel.ts) every signaling payload (SDP
 * offer, answer, ICE candidates) then travels in.
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
import { fromBase64, toBase64 } from '../bytes.js';
import { PeerlaneError, toPeerlaneError } from '../errors.js';
import type { SignalPipe } from '../signaling/pipe.js';
import type { PeerRole } from '../signaling/protocol.js';
import type { Aead } from './channel.js';
import { SecureChannel } from './channel.js';
import type { CpaceParty, SessionKeys } from './cpace.js';
import { lvCat, startCpace, tagsEqual } from './cpace.js';
import type { Intent, PeerAgent, SecureMessage } from './protocol.js';
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
  /** The channel's AES-GCM; @noble/ciphers' unless given (Node gives node:crypto's). */
  aead?: Aead;
  /** What this side is, told to the peer with our share (a tuning hint: protocol.ts PeerAgent). */
  agent?: PeerAgent;
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
function confirmed(
  client: SignalPipe,
  keys: SessionKeys,
  isA: boolean,
  tag: Uint8Array,
  aead: Aead | undefined,
): SecureChannel {
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
    aead,
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
  const handshake = new Handshake(client, options);
  return new Promise<SecureChannel>((resolve, reject) => handshake.start({ resolve, reject }));
}

interface Outcome {
  resolve(channel: SecureChannel): void;
  reject(err: PeerlaneError): void;
}

/** One run of the key exchange: a step per message kind, and one place where it settles. */
class Handshake {
  private readonly isA: boolean;
  private readonly ad: string;
  private readonly party: CpaceParty;
  private keys: SessionKeys | undefined;
  private peerAgent: PeerAgent | undefined;
  /** Once settled, failures are the channel's to report. */
  private channel: SecureChannel | undefined;
  private settled = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private outcome: Outcome | undefined;

  constructor(
    private readonly client: SignalPipe,
    private readonly options: HandshakeOptions,
  ) {
    this.isA = options.role === 'offerer';
    this.ad = associatedData(options.role, options.intent);
    this.party = startCpace({
      prs: options.secret,
      ci: channelId(options.nameplate),
      sid: options.sid,
      ad: this.ad,
      initiator: this.isA,
    });
  }

  start(outcome: Outcome): void {
    this.outcome = outcome;
    this.timer = setTimeout(
      () =>
        this.fail(new PeerlaneError('CONNECT_TIMEOUT', 'the peer did not complete the key exchange in time')),
      this.options.timeoutMs,
    );
    this.client.onFailure((err) => this.fail(err));
    // Our share goes out first: registering the handler below may process a
    // share that already arrived, and our confirm must never precede our share.
    this.client.sendPayload(
      encodeSecureMessage({
        kind: 'pake',
        v: SECURE_PROTOCOL_VERSION,
        share: toBase64(this.party.share),
        ad: this.ad,
        ...(this.options.agent !== undefined ? { agent: this.options.agent } : {}),
      }),
    );
    this.client.onPayload((raw) => this.receive(raw));
  }

  private receive(raw: string): void {
    if (this.channel !== undefined) {
      this.channel.receive(raw);
      return;
    }
    try {
      const msg = parseSecureMessage(raw);
      if (msg.kind === 'pake' && this.keys === undefined) this.peerShare(msg);
      else if (msg.kind === 'confirm' && this.keys !== undefined) this.peerTag(this.keys, msg);
      else if (msg.kind === 'refused')
        throw new PeerlaneError('BAD_CODE', 'the code is wrong (the peer refused our key confirmation)');
      else throw new PeerlaneError('BAD_MESSAGE', `unexpected ${msg.kind} during the key exchange`);
    } catch (err) {
      this.fail(toPeerlaneError(err, 'BAD_MESSAGE'));
    }
  }

  private peerShare(msg: Extract<SecureMessage, { kind: 'pake' }>): void {
    checkPeerPake(msg, this.options);
    this.peerAgent = msg.agent;
    this.keys = this.party.finish(fromBase64(msg.share), msg.ad);
    if (!this.isA) sendTag(this.client, this.keys.tagB); // b confirms unasked: see the top of this file
  }

  private peerTag(keys: SessionKeys, msg: Extract<SecureMessage, { kind: 'confirm' }>): void {
    this.channel = confirmed(this.client, keys, this.isA, fromBase64(msg.tag), this.options.aead);
    this.channel.peerAgent = this.peerAgent;
    this.settle();
    this.outcome?.resolve(this.channel);
  }

  private fail(err: PeerlaneError): void {
    if (this.settled) {
      this.channel?.fail(err);
      return;
    }
    this.settle();
    this.outcome?.reject(err);
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.timer);
  }
}
