import { ristretto255 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { describe, expect, it } from 'vitest';
import { shortAuthString } from '../../src/core/secure/channel.js';
import { formatCode, generateSecret, parseCode } from '../../src/core/secure/code.js';
import type { CpaceInput } from '../../src/core/secure/cpace.js';
import {
  calculateGenerator,
  generatorString,
  intermediateSessionKey,
  lvCat,
  prependLen,
  sampleScalar,
  scalarMultVfy,
  startCpace,
  tagsEqual,
  transcriptIr,
} from '../../src/core/secure/cpace.js';

const hex = (text: string): Uint8Array => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/**
 * Test vectors of draft-irtf-cfrg-cpace-21, Appendix B.3 ("Test vector for
 * CPace using group ristretto255 and hash SHA-512") and A.1-A.3, copied as data
 * from https://www.ietf.org/archive/id/draft-irtf-cfrg-cpace-21.txt (the same
 * text is draft-irtf-cfrg-cpace-21/draft-irtf-cfrg-cpace.txt on the gh-pages
 * branch of github.com/cfrg/draft-irtf-cfrg-cpace). Scalars are little-endian.
 */
const B3 = {
  prs: 'Password',
  ci: hex('0b415f696e69746961746f720b425f726573706f6e646572'),
  sid: hex('7e4b4791d6a8ef019b936c79fb7f2c57'),
  generatorString: hex(`
    11435061636552697374726574746f3235350850617373776f726464
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000000000000000000000000000
    00000000000000000000000000000000180b415f696e69746961746f
    720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f
    2c57`),
  g: '222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56',
  adA: 'ADa',
  ya: hex('da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08'),
  Ya: 'd6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157',
  adB: 'ADb',
  yb: hex('d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d'),
  Yb: '3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258',
  K: '80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f',
  transcriptIr: `
    20d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0e
    ec482b915703414461203ea7e0b19560d7c0b0f5734f63b955286dfa
    8232b5ebe63324e2d9e7433f725803414462`,
  iskIr: `
    b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dc
    ae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c
    3fa2068af7900447`,
  /** B.3.10 and B.3.11: scalar_mult_vfy with valid and invalid inputs. */
  s: hex('7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05'),
  X: hex('2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c'),
  sX: '7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e',
  invalid: [hex('2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c'), new Uint8Array(32)],
};
const flat = (text: string): string => text.replace(/\s+/g, '');

describe("CPace against the draft's test vectors (draft-irtf-cfrg-cpace-21)", () => {
  it('prepend_len and lv_cat (A.1.2, A.1.4)', () => {
    expect(toHex(prependLen(new Uint8Array(0)))).toBe('00');
    expect(toHex(prependLen('1234'))).toBe('0431323334');
    const range = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);
    expect(toHex(prependLen(range(127)).subarray(0, 2))).toBe('7f00');
    expect(prependLen(range(127))).toHaveLength(128);
    expect(toHex(prependLen(range(128)).subarray(0, 3))).toBe('800100');
    expect(prependLen(range(128))).toHaveLength(130);
    expect(toHex(lvCat('1234', '5', '', '678'))).toBe('043132333401350003363738');
  });

  it('transcript_ir (A.3.5)', () => {
    expect(toHex(transcriptIr('123', 'PartyA', '234', 'PartyB'))).toBe(
      '03313233065061727479410332333406506172747942',
    );
    expect(toHex(transcriptIr('3456', 'PartyA', '2345', 'PartyB'))).toBe(
      '043334353606506172747941043233343506506172747942',
    );
  });

  it('generator_string with DSI CPaceRistretto255 and zero padding, and the generator (B.3.1)', () => {
    expect(toHex(generatorString(B3.prs, B3.ci, B3.sid))).toBe(toHex(B3.generatorString));
    expect(generatorString(B3.prs, B3.ci, B3.sid)).toHaveLength(170);
    expect(toHex(calculateGenerator(B3.prs, B3.ci, B3.sid).toBytes())).toBe(B3.g);
  });

  it('both shares, K and the initiator/responder ISK (B.3.2 to B.3.5)', () => {
    const g = calculateGenerator(B3.prs, B3.ci, B3.sid);
    const ya = bytesToNumberLE(B3.ya);
    const yb = bytesToNumberLE(B3.yb);
    expect(toHex(g.multiply(ya).toBytes())).toBe(B3.Ya);
    expect(toHex(g.multiply(yb).toBytes())).toBe(B3.Yb);
    const k = scalarMultVfy(ya, hex(B3.Yb));
    expect(toHex(k)).toBe(B3.K);
    expect(toHex(scalarMultVfy(yb, hex(B3.Ya)))).toBe(B3.K);
    const transcript = transcriptIr(hex(B3.Ya), B3.adA, hex(B3.Yb), B3.adB);
    expect(toHex(transcript)).toBe(flat(B3.transcriptIr));
    expect(toHex(intermediateSessionKey(B3.sid, k, transcript))).toBe(flat(B3.iskIr));
  });

  it('startCpace computes the same shares as the vectors', () => {
    const input = { prs: B3.prs, ci: B3.ci, sid: B3.sid };
    const a = startCpace({ ...input, ad: B3.adA, initiator: true }, bytesToNumberLE(B3.ya));
    const b = startCpace({ ...input, ad: B3.adB, initiator: false }, bytesToNumberLE(B3.yb));
    expect(toHex(a.share)).toBe(B3.Ya);
    expect(toHex(b.share)).toBe(B3.Yb);
    const ka = a.finish(b.share, B3.adB);
    const kb = b.finish(a.share, B3.adA);
    expect(toHex(ka.tagA)).toBe(toHex(kb.tagA));
    expect(toHex(ka.tagB)).toBe(toHex(kb.tagB));
    expect(ka.tagA).toHaveLength(64);
  });

  it('scalar_mult_vfy with valid and invalid inputs (B.3.10, B.3.11)', () => {
    const s = bytesToNumberLE(B3.s);
    expect(toHex(scalarMultVfy(s, B3.X))).toBe(B3.sX);
    const identity = toHex(ristretto255.Point.ZERO.toBytes());
    for (const bad of B3.invalid) expect(toHex(scalarMultVfy(s, bad))).toBe(identity);
  });
});

const CI = lvCat('peerlane', '2', '42');
const SID = new Uint8Array(16).fill(7);

function party(prs: string, initiator: boolean, over: Partial<CpaceInput> = {}) {
  const ad = initiator ? 'role=offerer;intent=send' : 'role=answerer;intent=receive';
  return startCpace({ prs, ci: CI, sid: SID, ad, initiator, ...over });
}

function run(a: ReturnType<typeof party>, b: ReturnType<typeof party>) {
  return [
    a.finish(b.share, 'role=answerer;intent=receive'),
    b.finish(a.share, 'role=offerer;intent=send'),
  ] as const;
}

const same = (x: Uint8Array, y: Uint8Array): boolean => toHex(x) === toHex(y);

describe('CPace', () => {
  it('gives both sides the same keys for the same password', () => {
    const [ka, kb] = run(party('orbit-lemon', true), party('orbit-lemon', false));
    expect(same(ka.sealAB, kb.sealAB)).toBe(true);
    expect(same(ka.sealBA, kb.sealBA)).toBe(true);
    expect(tagsEqual(ka.tagA, kb.tagA)).toBe(true);
    expect(same(ka.sas, kb.sas)).toBe(true);
    // Keys for different purposes differ.
    expect(same(ka.sealAB, ka.sealBA)).toBe(false);
    expect(same(ka.tagA, ka.tagB)).toBe(false);
  });

  it('gives different keys for a different password, channel or session id', () => {
    const [ka, kb] = run(party('orbit-lemon', true), party('orbit-lime', false));
    expect(same(ka.sealAB, kb.sealAB)).toBe(false);
    expect(tagsEqual(ka.tagB, kb.tagB)).toBe(false);
    const [kc, kd] = run(
      party('orbit-lemon', true),
      party('orbit-lemon', false, { ci: lvCat('peerlane', '2', '43') }),
    );
    expect(same(kc.sealAB, kd.sealAB)).toBe(false);
    const [ke, kf] = run(
      party('orbit-lemon', true),
      party('orbit-lemon', false, { sid: new Uint8Array(16) }),
    );
    expect(same(ke.sealAB, kf.sealAB)).toBe(false);
  });

  it('uses a fresh share every run, from a non-zero scalar below 2^252', () => {
    expect(same(party('x-y', true).share, party('x-y', true).share)).toBe(false);
    for (let i = 0; i < 50; i++) {
      const s = sampleScalar();
      expect(s > 0n && s < 2n ** 252n).toBe(true);
    }
  });

  it('refuses invalid peer shares with BAD_CODE', () => {
    const a = party('orbit-lemon', true);
    const identity = ristretto255.Point.ZERO.toBytes();
    for (const bad of [
      new Uint8Array(31),
      new Uint8Array(33),
      identity,
      new Uint8Array(32).fill(0xff),
      B3.invalid[0] ?? identity,
    ]) {
      expect(() => a.finish(bad, 'b')).toThrow(expect.objectContaining({ code: 'BAD_CODE' }));
    }
  });

  it('the short authentication string is symmetric and depends on the fingerprints', () => {
    const key = Buffer.alloc(32, 7);
    const s1 = shortAuthString(key, 'AA:BB', 'CC:DD');
    expect(s1).toBe(shortAuthString(key, 'cc:dd', 'aa:bb'));
    expect(s1.split(' ')).toHaveLength(4);
    expect(shortAuthString(key, 'AA:BB', 'CC:DE')).not.toBe(s1);
  });
});

describe('codes', () => {
  it('generates nameplate-word-word codes that parse back', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^[a-z]+-[a-z]+$/);
    expect(parseCode(formatCode({ nameplate: '42', secret }))).toEqual({ nameplate: '42', secret });
    expect(generateSecret(5).split('-')).toHaveLength(5);
  });

  it('normalises case and spacing', () => {
    expect(parseCode(' 42-Orbit lemon ')).toEqual({ nameplate: '42', secret: 'orbit-lemon' });
  });

  it.each([
    '',
    '42',
    '42-orbit',
    'x-orbit-lemon',
    '042-orbit-lemon',
    '42-orbit-lemonx',
    '1234567-orbit-lemon',
  ])('refuses %j with BAD_CODE', (text) => {
    expect(() => parseCode(text)).toThrow(expect.objectContaining({ code: 'BAD_CODE' }));
  });

  it('refuses a word count outside 2..8', () => {
    expect(() => generateSecret(1)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
    expect(() => generateSecret(9)).toThrow(expect.objectContaining({ code: 'BAD_CONFIG' }));
  });
});
