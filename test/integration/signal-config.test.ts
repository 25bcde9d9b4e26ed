/** The signal server's limits as configured: the documented defaults, and what is refused (BAD_CONFIG). */
import { describe, expect, it } from 'vitest';
import { SignalServer } from '../../src/server/server.js';
import {
  DEFAULT_SIGNAL_LIMITS,
  MAX_NAMEPLATES_CEILING,
  parseSignalLimits,
  resolveSignalLimits,
} from '../../src/server/server-config.js';
import { LOOPBACK } from '../../src/testing/harness.js';

describe('configuration', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_SIGNAL_LIMITS).toEqual({
      handshakeTimeoutMs: 10_000,
      idleTimeoutMs: 60_000,
      nameplateTtlMs: 3_600_000,
      maxNameplates: 10_000,
      maxConnectionsPerIp: 32,
      joinRatePerMinute: 60,
      joinBurst: 20,
      maxConnections: 20_000,
      ipv6PrefixBits: 64,
      maxPendingBytes: 32 * 1024 * 1024,
      clientQueueBytes: 1024 * 1024,
      maxQueuedBytes: 64 * 1024 * 1024,
      relayRatePerMinute: 300,
      relayBurst: 200,
      turnGrantsPerHour: 60,
      stunRatePerMinute: 120,
      stunBurst: 30,
      httpMaxConnections: 16,
      swarmMembers: 64,
      swarmsPerConnection: 4,
      swarmRelayRatePerMinute: 600,
      swarmRelayBurst: 400,
    });
    expect(parseSignalLimits({})).toEqual(DEFAULT_SIGNAL_LIMITS);
    expect(parseSignalLimits({ SIGNAL_IDLE_TIMEOUT: '', SIGNAL_JOIN_BURST: '  ' })).toEqual(
      DEFAULT_SIGNAL_LIMITS,
    );
    expect(new SignalServer({ host: LOOPBACK, port: 0 }).limits).toEqual(DEFAULT_SIGNAL_LIMITS);
  });

  it('parses env values and flags: seconds, whole counts, rates', () => {
    expect(
      parseSignalLimits({
        SIGNAL_HANDSHAKE_TIMEOUT: '2.5',
        SIGNAL_IDLE_TIMEOUT: 30,
        SIGNAL_NAMEPLATE_TTL: ' 600 ',
        SIGNAL_MAX_NAMEPLATES: String(MAX_NAMEPLATES_CEILING),
        SIGNAL_MAX_CONNECTIONS_PER_IP: '4',
        SIGNAL_JOIN_RATE: '0.5',
        SIGNAL_JOIN_BURST: '1',
        SIGNAL_IPV6_PREFIX: '48',
        SIGNAL_CLIENT_QUEUE_BYTES: '262144',
      }),
    ).toEqual({
      ...DEFAULT_SIGNAL_LIMITS,
      ipv6PrefixBits: 48,
      clientQueueBytes: 262_144,
      handshakeTimeoutMs: 2_500,
      idleTimeoutMs: 30_000,
      nameplateTtlMs: 600_000,
      maxNameplates: MAX_NAMEPLATES_CEILING,
      maxConnectionsPerIp: 4,
      joinRatePerMinute: 0.5,
      joinBurst: 1,
    });
  });

  it.each([
    ['SIGNAL_HANDSHAKE_TIMEOUT', '0'],
    ['SIGNAL_HANDSHAKE_TIMEOUT', '-1'],
    ['SIGNAL_IDLE_TIMEOUT', 'soon'],
    ['SIGNAL_IDLE_TIMEOUT', '3000000'], // past what a timer can wait
    ['SIGNAL_NAMEPLATE_TTL', 'Infinity'],
    ['SIGNAL_MAX_NAMEPLATES', '0'],
    ['SIGNAL_MAX_NAMEPLATES', String(MAX_NAMEPLATES_CEILING + 1)], // nameplates would outgrow six digits
    ['SIGNAL_MAX_CONNECTIONS_PER_IP', '1.5'],
    ['SIGNAL_MAX_CONNECTIONS_PER_IP', '0x10'],
    ['SIGNAL_MAX_CONNECTIONS_PER_IP', '1e3'],
    ['SIGNAL_JOIN_RATE', '0'],
    ['SIGNAL_JOIN_RATE', '-5'],
    ['SIGNAL_JOIN_RATE', 'fast'],
    ['SIGNAL_JOIN_BURST', '20 tokens'],
    ['SIGNAL_IPV6_PREFIX', '129'], // longer than an address
    ['SIGNAL_CLIENT_QUEUE_BYTES', '65536'], // would drop a client for one large relay
    ['SIGNAL_MAX_CONNECTIONS', '0'],
    ['SIGNAL_SWARM_MEMBERS', '257'], // more than one `announced` may list
    ['SIGNAL_SWARMS_PER_CONNECTION', '65'],
    ['SIGNAL_SWARM_RELAY_RATE', '0'],
  ] as const)('refuses %s=%j with BAD_CONFIG naming the flag', (variable, value) => {
    expect(() => parseSignalLimits({ [variable]: value })).toThrow(
      expect.objectContaining({ code: 'BAD_CONFIG', message: expect.stringContaining(variable) }),
    );
    expect(() => parseSignalLimits({ [variable]: value })).toThrow(/^--[a-z0-9-]+ \(/);
  });

  it('checks limits given in code too', () => {
    expect(resolveSignalLimits({ joinBurst: 3 })).toEqual({ ...DEFAULT_SIGNAL_LIMITS, joinBurst: 3 });
    for (const limits of [
      { idleTimeoutMs: 0 },
      { idleTimeoutMs: Number.NaN },
      { nameplateTtlMs: 2 ** 31 },
      { maxConnectionsPerIp: 2.5 },
      { maxNameplates: MAX_NAMEPLATES_CEILING + 1 },
      { joinRatePerMinute: -1 },
    ]) {
      expect(() => new SignalServer({ host: LOOPBACK, port: 0, limits }), JSON.stringify(limits)).toThrow(
        expect.objectContaining({
          code: 'BAD_CONFIG',
          message: expect.stringMatching(/^limits\.\w+ must be/),
        }),
      );
    }
  });
});
