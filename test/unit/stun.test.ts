import dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import {
  ATTR,
  answerBindingRequest,
  decodeXorAddress,
  encodeBindingRequest,
  encodeBindingSuccess,
  encodeStunMessage,
  encodeXorAddress,
  parseStunMessage,
  STUN_BINDING_REQUEST,
  STUN_BINDING_SUCCESS,
  stunBinding,
} from '../../src/server/stun.js';

const txid = Buffer.from('b7e7a701bc34d686fa87dfae', 'hex');

describe('STUN codec', () => {
  it('encodes a Binding request with the cookie and a FINGERPRINT', () => {
    const req = encodeBindingRequest(txid);
    expect(req.length).toBe(28);
    expect(req.readUInt16BE(0)).toBe(0x0001);
    expect(req.readUInt16BE(2)).toBe(8);
    expect(req.readUInt32BE(4)).toBe(0x2112a442);
    expect(req.subarray(8, 20)).toEqual(txid);
    const msg = parseStunMessage(req);
    expect(msg?.type).toBe(STUN_BINDING_REQUEST);
    expect(msg?.transactionId).toEqual(txid);
    expect(msg?.attributes.has(ATTR.FINGERPRINT)).toBe(true);
  });

  it('matches the IPv4 XOR-MAPPED-ADDRESS of the RFC 5769 sample response', () => {
    // RFC 5769 §2.2: 192.0.2.1 port 32853.
    const value = Buffer.from('0001a147e112a643', 'hex');
    expect(decodeXorAddress(value, txid)).toEqual({ family: 'IPv4', address: '192.0.2.1', port: 32853 });
    expect(encodeXorAddress({ family: 'IPv4', address: '192.0.2.1', port: 32853 }, txid)).toEqual(value);
  });

  it('matches the IPv6 XOR-MAPPED-ADDRESS of the RFC 5769 sample response', () => {
    // RFC 5769 §2.3: 2001:db8:1234:5678:11:2233:4455:6677 port 32853.
    const value = Buffer.from('0002a1470113a9faa5d3f179bc25f4b5bed2b9d9', 'hex');
    const mapped = { family: 'IPv6', address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 } as const;
    expect(decodeXorAddress(value, txid)).toEqual(mapped);
    expect(encodeXorAddress(mapped, txid)).toEqual(value);
  });

  it('checks the FINGERPRINT of the RFC 5769 sample request', () => {
    const sample = Buffer.from(
      '000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465737420636c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a280280004e57a3bcf',
      'hex',
    );
    const msg = parseStunMessage(sample);
    expect(msg?.type).toBe(STUN_BINDING_REQUEST);
    expect(msg?.attributes.get(ATTR.SOFTWARE)?.toString()).toBe('STUN test client');
    const tampered = Buffer.from(sample);
    tampered[sample.length - 1] = (tampered[sample.length - 1] ?? 0) ^ 1;
    expect(parseStunMessage(tampered)).toBeUndefined();
  });

  it('round-trips a success response', () => {
    const res = encodeBindingSuccess(txid, { family: 'IPv4', address: '203.0.113.7', port: 40000 });
    const msg = parseStunMessage(res);
    expect(msg?.type).toBe(STUN_BINDING_SUCCESS);
    const value = msg?.attributes.get(ATTR.XOR_MAPPED_ADDRESS);
    expect(value && decodeXorAddress(value, txid)).toEqual({
      family: 'IPv4',
      address: '203.0.113.7',
      port: 40000,
    });
    expect(res.length % 4).toBe(0);
  });

  it('rejects what is not STUN', () => {
    const req = encodeBindingRequest(txid);
    expect(parseStunMessage(Buffer.alloc(0))).toBeUndefined();
    expect(parseStunMessage(req.subarray(0, 19))).toBeUndefined();
    expect(parseStunMessage(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBeUndefined();
    const badCookie = Buffer.from(req);
    badCookie.writeUInt32BE(0x2112a443, 4);
    expect(parseStunMessage(badCookie)).toBeUndefined();
    const badLength = Buffer.from(req);
    badLength.writeUInt16BE(12, 2);
    expect(parseStunMessage(badLength)).toBeUndefined();
    const highBits = Buffer.from(req);
    highBits.writeUInt16BE(0xc001, 0);
    expect(parseStunMessage(highBits)).toBeUndefined();
    // An attribute running past the end.
    const overrun = encodeStunMessage(STUN_BINDING_REQUEST, txid, [[0x8022, Buffer.from('abcd')]], false);
    overrun.writeUInt16BE(40, 22);
    expect(parseStunMessage(overrun)).toBeUndefined();
  });

  it('answers Binding requests only, with the source address and port', () => {
    const from = { address: '::ffff:198.51.100.20', port: 50123, family: 'IPv6', size: 28 } as const;
    const answer = answerBindingRequest(encodeBindingRequest(txid), from);
    const msg = answer && parseStunMessage(answer);
    const value = msg ? msg.attributes.get(ATTR.XOR_MAPPED_ADDRESS) : undefined;
    expect(value && decodeXorAddress(value, txid)).toEqual({
      family: 'IPv4',
      address: '198.51.100.20',
      port: 50123,
    });
    const response = encodeBindingSuccess(txid, { family: 'IPv4', address: '1.2.3.4', port: 1 });
    expect(answerBindingRequest(response, from)).toBeUndefined();
    expect(answerBindingRequest(Buffer.from('hello'), from)).toBeUndefined();
    const indication = encodeStunMessage(0x0011, txid, []);
    expect(answerBindingRequest(indication, from)).toBeUndefined();
  });

  it('stunBinding() asks over UDP and reads the answer', async () => {
    const server = dgram.createSocket('udp4');
    server.on('message', (data, from) => {
      const answer = answerBindingRequest(data, from);
      if (answer) server.send(answer, from.port, from.address);
    });
    await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
    try {
      const mapped = await stunBinding('127.0.0.1', server.address().port, { timeoutMs: 2_000 });
      expect(mapped.address).toBe('127.0.0.1');
      expect(mapped.port).toBeGreaterThan(0);
    } finally {
      server.close();
    }
  });

  it('stunBinding() times out when nobody answers', async () => {
    const silent = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve));
    try {
      await expect(stunBinding('127.0.0.1', silent.address().port, { timeoutMs: 300 })).rejects.toThrow(
        /no STUN answer/,
      );
    } finally {
      silent.close();
    }
  });
});
