/**
 * One settings table makes the yargs options and the values (cli/settings.ts):
 * checked through yargs itself, as the entry points use it, and down to the
 * session options `peer` builds from them.
 */

import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { Output } from '../../src/cli/output.js';
import { sessionOptions } from '../../src/cli/peer-session-options.js';
import { PEER_COMMAND_SETTINGS, PEER_GLOBAL_SETTINGS } from '../../src/cli/peer-settings.js';
import type { Env } from '../../src/cli/settings.js';
import { readSettings, settingOptions } from '../../src/cli/settings.js';
import { SIGNAL_SETTINGS } from '../../src/cli/signal-settings.js';
import type { Setting } from '../../src/config.js';
import { codeOf } from '../helpers.js';

/** The command line parsed by yargs with the table's options, then read back through the table. */
function parsed<L extends readonly Setting[]>(table: L, argv: string[], env: Env = {}) {
  const args = yargs(argv)
    .options(settingOptions(table, env, true))
    .strict()
    .parseSync();
  return readSettings(table, args, env);
}

const quiet = new Output({ json: true, quiet: true, verb: 'sent', stdout: process.stderr });

describe('settingOptions', () => {
  it('names the variable in the help line, and defaults to it, else to the table', () => {
    const options = settingOptions(PEER_COMMAND_SETTINGS.send, { PEER_CONNECT_TIMEOUT: '45' }, true);
    expect(options.timeout).toMatchObject({
      type: 'number',
      default: 45,
      describe: 'Seconds to wait for the connection once paired [PEER_CONNECT_TIMEOUT]',
    });
    expect(settingOptions(PEER_COMMAND_SETTINGS.send, {}, true).timeout?.default).toBe(30);
    // Not a number: left as written, so the parser's message can quote it.
    expect(
      settingOptions(PEER_COMMAND_SETTINGS.send, { PEER_CONNECT_TIMEOUT: '0x1e' }, true).timeout?.default,
    ).toBe('0x1e');
  });

  it('takes an empty variable as unset', () => {
    expect(settingOptions(PEER_COMMAND_SETTINGS.send, { PEER_TRANSPORT: '' }, true).transport?.default).toBe(
      'auto',
    );
  });

  it('makes --signal from SIGNALING_SERVER_ADDR and SIGNALING_SERVER_PORT', () => {
    const env = { SIGNALING_SERVER_ADDR: 'signal.example.org', SIGNALING_SERVER_PORT: '9000' };
    expect(settingOptions(PEER_GLOBAL_SETTINGS, env, true).signal?.default).toBe('signal.example.org:9000');
    expect(settingOptions(PEER_GLOBAL_SETTINGS, {}, true).signal?.default).toBe('127.0.0.1:8091');
  });

  it('never shows a secret, even when its variable is set', () => {
    const options = settingOptions(
      SIGNAL_SETTINGS,
      { TURN_SECRET: 'hunter2', REDIS_URL: 'redis://:pw@h' },
      true,
    );
    expect(JSON.stringify(options)).not.toContain('hunter2');
    expect(JSON.stringify(options)).not.toContain(':pw@');
  });

  it('hides every option from the help render unless help is shown', () => {
    const hidden = Object.values(settingOptions(PEER_COMMAND_SETTINGS.receive, {}, false));
    expect(hidden.length).toBeGreaterThan(10);
    expect(hidden.every((o) => o.hidden === true)).toBe(true);
  });

  it('makes no option for a variable without a flag (PEER_CODE)', () => {
    expect(Object.keys(settingOptions(PEER_GLOBAL_SETTINGS, {}, true))).not.toContain('PEER_CODE');
  });
});

describe('readSettings', () => {
  it('lays the flag over the variable over the default, and parses each', () => {
    expect(parsed(PEER_COMMAND_SETTINGS.send, [], {})['reconnect-for']).toBe(120);
    expect(parsed(PEER_COMMAND_SETTINGS.send, [], { PEER_RECONNECT_FOR: '2m' })['reconnect-for']).toBe(120);
    expect(parsed(PEER_COMMAND_SETTINGS.send, [], { PEER_RECONNECT_FOR: '90' })['reconnect-for']).toBe(90);
    const flagWins = parsed(PEER_COMMAND_SETTINGS.send, ['--reconnect-for', '5m'], {
      PEER_RECONNECT_FOR: '90',
    });
    expect(flagWins['reconnect-for']).toBe(300);
  });

  it('reads a secret from its variable unless the flag gives it', () => {
    expect(parsed(SIGNAL_SETTINGS, [], { TURN_SECRET: 's3' })['turn-secret']).toBe('s3');
    expect(parsed(SIGNAL_SETTINGS, ['--turn-secret', 'f1'], { TURN_SECRET: 's3' })['turn-secret']).toBe('f1');
    expect(parsed(SIGNAL_SETTINGS, [], {})['turn-secret']).toBe('');
    expect(parsed(SIGNAL_SETTINGS, [], { REDIS_URL: '  ' })['redis-url']).toBeUndefined();
  });

  it('reads an environment-only variable from the environment', () => {
    expect(parsed(PEER_GLOBAL_SETTINGS, [], { PEER_CODE: '7-a-b' }).PEER_CODE).toBe('7-a-b');
    expect(parsed(PEER_GLOBAL_SETTINGS, [], { PEER_CODE: '' }).PEER_CODE).toBeUndefined();
  });

  it('refuses a bad variable with BAD_CONFIG, naming it', () => {
    expect(codeOf(() => parsed(PEER_COMMAND_SETTINGS.send, [], { PEER_TRANSPORT: 'quic' }))).toBe(
      'BAD_CONFIG',
    );
    expect(codeOf(() => parsed(PEER_GLOBAL_SETTINGS, [], { SIGNALING_SERVER_PORT: 'x' }))).toBe('BAD_CONFIG');
    expect(codeOf(() => parsed(SIGNAL_SETTINGS, ['--http-port', '99999']))).toBe('BAD_CONFIG');
  });
});

describe('the session options peer builds', () => {
  const options = (argv: string[], env: Env = {}) =>
    sessionOptions(parsed(PEER_COMMAND_SETTINGS.send, argv, env), quiet, new AbortController().signal);

  it('carry --debug-ice, or PEERLANE_DEBUG_ICE, to the connection attempt; the library reads no env', () => {
    expect(options(['--debug-ice']).rtc).toMatchObject({ debugIce: true });
    expect(options([], { PEERLANE_DEBUG_ICE: '1' }).rtc).toMatchObject({ debugIce: true });
    expect(options([]).rtc).not.toHaveProperty('debugIce');
    expect(options(['--no-debug-ice'], { PEERLANE_DEBUG_ICE: '1' }).rtc).not.toHaveProperty('debugIce');
  });

  it('use the signal server for STUN unless ICE servers are named; a flag given empty means none', () => {
    const signal = ['--signal', '203.0.113.9:7000'];
    expect(options(signal).rtc.iceServers).toEqual([{ hostname: '203.0.113.9', port: 7000 }]);
    expect(options(signal, { ICE_SERVERS: '' }).rtc.iceServers).toHaveLength(1);
    expect(options([...signal, '--ice-servers', '']).rtc.iceServers).toEqual([]);
    expect(options(signal, { ICE_SERVERS: 'none' }).issuedTurn).toBe(false);
    expect(options(signal, { ICE_SERVERS: 'stun:s.example.org:3478' }).rtc.iceServers).toEqual([
      'stun:s.example.org:3478',
    ]);
  });

  it('convert seconds to milliseconds, and a bare --signal host takes SIGNALING_SERVER_PORT', () => {
    const o = options(['--timeout', '2', '--stall-timeout', '3', '--signal', 'h'], {
      SIGNALING_SERVER_PORT: '9',
    });
    expect(o.signal).toEqual({ host: 'h', port: 9 });
    expect(o.rtc.timeoutMs).toBe(2000);
    expect(o.heartbeat?.stallTimeoutMs).toBe(3000);
    expect(o.reconnectForMs).toBe(120_000);
  });

  it('refuse --relay with --direct-only as a usage error', () => {
    expect(codeOf(() => options(['--relay', '--direct-only']))).toBe('USAGE');
  });
});
