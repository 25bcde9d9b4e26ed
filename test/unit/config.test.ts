import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/cli/output.js';
import { PEER_SETTINGS } from '../../src/cli/peer-settings.js';
import { SIGNAL_SETTINGS } from '../../src/cli/signal-settings.js';
import type { Setting } from '../../src/config.js';
import {
  DEFAULTS,
  parseHostPort,
  parsePort,
  parseReconnectFor,
  parseSeconds,
  parseSwitch,
  parseTransport,
  SIGNAL_PORT_SETTING,
  TRANSPORTS,
} from '../../src/config.js';
import { packageRoot } from '../../src/project.js';
import { parseIceServers } from '../../src/rtc/ice-servers.js';
import { codeOf } from '../helpers.js';

describe('parsePort', () => {
  it('accepts numbers and numeric strings from 0 to 65535', () => {
    expect(parsePort(0, 'p')).toBe(0);
    expect(parsePort(8091, 'p')).toBe(8091);
    expect(parsePort('8091', 'p')).toBe(8091);
    expect(parsePort(' 443 ', 'p')).toBe(443);
    expect(parsePort(65535, 'p')).toBe(65535);
  });

  it.each([-1, 65536, 'x', 1.5, '1.5', 'NaN', Number.NaN, Number.POSITIVE_INFINITY, null, undefined, {}])(
    'refuses %j with BAD_CONFIG',
    (value) => {
      expect(codeOf(() => parsePort(value, 'PORT'))).toBe('BAD_CONFIG');
    },
  );

  it('names the setting in its message', () => {
    expect(() => parsePort('x', 'SIGNALING_SERVER_PORT')).toThrow(/SIGNALING_SERVER_PORT/);
  });

  // Number('') and Number('  ') are 0, so an empty SIGNALING_SERVER_PORT= becomes port 0.
  it('refuses an empty or blank string', () => {
    expect(codeOf(() => parsePort('', 'PORT'))).toBe('BAD_CONFIG');
    expect(codeOf(() => parsePort('  ', 'PORT'))).toBe('BAD_CONFIG');
  });
});

describe('parseSeconds', () => {
  it('accepts positive numbers and numeric strings', () => {
    expect(parseSeconds(30, 't')).toBe(30);
    expect(parseSeconds('0.5', 't')).toBe(0.5);
    expect(parseSeconds(' 12 ', 't')).toBe(12);
  });

  it.each([0, -1, '0', '', 'x', 'Infinity', Number.NaN, null])('refuses %j with BAD_CONFIG', (value) => {
    expect(codeOf(() => parseSeconds(value, '--timeout'))).toBe('BAD_CONFIG');
  });
});

describe('parseReconnectFor', () => {
  it('takes seconds, or a number with s, m or h', () => {
    expect(parseReconnectFor('90')).toBe(90);
    expect(parseReconnectFor('120s')).toBe(120);
    expect(parseReconnectFor(' 2m ')).toBe(120);
    expect(parseReconnectFor('1.5h')).toBe(5400);
    expect(parseReconnectFor('0')).toBe(0);
    expect(parseReconnectFor(`${DEFAULTS.PEER_RECONNECT_FOR}s`)).toBe(DEFAULTS.PEER_RECONNECT_FOR);
  });

  it('refuses anything else with BAD_CONFIG', () => {
    for (const bad of ['', 'soon', '-5', '2d', '10 minutes', '25h', '1e3']) {
      expect(
        codeOf(() => parseReconnectFor(bad)),
        bad,
      ).toBe('BAD_CONFIG');
    }
  });
});

describe('parseHostPort', () => {
  it('splits host:port', () => {
    expect(parseHostPort('h:1', 9)).toEqual({ host: 'h', port: 1 });
    expect(parseHostPort('signal.example.com:8091', 9)).toEqual({ host: 'signal.example.com', port: 8091 });
  });

  it('uses the default port for a bare host', () => {
    expect(parseHostPort('h', 8091)).toEqual({ host: 'h', port: 8091 });
    expect(parseHostPort('10.0.0.1', SIGNAL_PORT_SETTING.default)).toEqual({
      host: '10.0.0.1',
      port: 8091,
    });
  });

  it('understands bracketed IPv6, with or without a port', () => {
    expect(parseHostPort('[::1]:9', 1)).toEqual({ host: '::1', port: 9 });
    expect(parseHostPort('[::1]', 7)).toEqual({ host: '::1', port: 7 });
  });

  it.each([':9', 'a:b:c', '::1', 'h:x', 'h:65536', '[::1]:99999', '[::1]x'])(
    'refuses %j with BAD_CONFIG',
    (value) => {
      expect(codeOf(() => parseHostPort(value, 8091))).toBe('BAD_CONFIG');
    },
  );

  // 'h:' reaches parsePort(''), which yields port 0 instead of an error.
  it('refuses a host with an empty port', () => {
    expect(codeOf(() => parseHostPort('h:', 8091))).toBe('BAD_CONFIG');
  });
});

describe('parseIceServers', () => {
  it('gives an empty list for an empty or blank value', () => {
    expect(parseIceServers('')).toEqual([]);
    expect(parseIceServers(' , ,')).toEqual([]);
  });

  it('splits and trims comma-separated URLs', () => {
    expect(parseIceServers('stun:a:3478, turn:u:p@b:3478')).toEqual(['stun:a:3478', 'turn:u:p@b:3478']);
    expect(parseIceServers('turns:t:5349,')).toEqual(['turns:t:5349']);
  });

  it.each(['http://x', 'stun:a, http://x', 'STUN:a', 'stuns:a', 'a'])(
    'refuses %j with BAD_CONFIG',
    (value) => {
      expect(codeOf(() => parseIceServers(value))).toBe('BAD_CONFIG');
    },
  );
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1, '1 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [1500, '1.5 kB'],
    [1_234_567, '1.2 MB'],
    [5e9, '5.0 GB'],
    [1e12, '1.0 TB'],
    [2.5e15, '2500.0 TB'],
  ])('formats %d as %j', (n, text) => {
    expect(formatBytes(n)).toBe(text);
  });

  // The unit is chosen after rounding: 999,999 B is "1.0 MB", never "1000.0 kB".
  it('rolls over to the next unit when rounding reaches 1000', () => {
    expect(formatBytes(999_999)).toBe('1.0 MB');
  });
});

describe('parseTransport', () => {
  it.each(TRANSPORTS)('accepts %s', (t) => {
    expect(parseTransport(t)).toBe(t);
    expect(parseTransport(` ${t} `)).toBe(t);
  });

  it.each(['bogus', '', 'TCP', 'quic', undefined, 3])(
    'refuses %j with BAD_CONFIG, naming the flag',
    (value) => {
      expect(codeOf(() => parseTransport(value))).toBe('BAD_CONFIG');
      expect(() => parseTransport(value)).toThrow(
        /--transport \/ PEER_TRANSPORT must be one of auto, tcp, webrtc/,
      );
    },
  );
});

describe('parseSwitch', () => {
  it.each([
    [true, true],
    [false, false],
    [undefined, false],
    ['1', true],
    [' yes ', true],
    ['ON', true],
    ['true', true],
    ['0', false],
    ['', false],
    ['no', false],
    ['off', false],
    ['false', false],
  ])('reads %j as %j', (value, on) => {
    expect(parseSwitch(value, '--debug-ice')).toBe(on);
  });

  it.each(['2', 'maybe', 'y'])('refuses %j with BAD_CONFIG, naming the setting', (value) => {
    expect(codeOf(() => parseSwitch(value, '--debug-ice / PEERLANE_DEBUG_ICE'))).toBe('BAD_CONFIG');
    expect(() => parseSwitch(value, '--debug-ice / PEERLANE_DEBUG_ICE')).toThrow(/PEERLANE_DEBUG_ICE/);
  });
});

/** `NAME=value` lines of .env.template, each with the comment lines right above it. */
function templateVariables(text: string): Map<string, { value: string; comment: string[] }> {
  const variables = new Map<string, { value: string; comment: string[] }>();
  let comment: string[] = [];
  for (const line of text.split('\n')) {
    const assignment = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (assignment?.[1] !== undefined) {
      expect(variables.has(assignment[1]), `${assignment[1]} twice`).toBe(false);
      variables.set(assignment[1], { value: assignment[2] ?? '', comment });
    }
    comment = line.startsWith('#') ? [...comment, line] : [];
  }
  return variables;
}

describe('the settings tables and .env.template, both ways', () => {
  const read = (name: string): string => fs.readFileSync(path.join(packageRoot(), name), 'utf8');
  const template = read('.env.template');
  const variables = templateVariables(template);
  const tables: Record<string, readonly Setting[]> = { peer: PEER_SETTINGS, signal: SIGNAL_SETTINGS };
  const withVariable = Object.entries(tables).flatMap(([program, table]) =>
    table.flatMap((s) => (s.env === undefined ? [] : [[program, s.env, s] as const])),
  );

  it('the tables are not empty, and each flag and variable has one entry per program', () => {
    for (const table of Object.values(tables)) {
      const variablesOf = table.flatMap((s) => (s.env === undefined ? [] : [s.env]));
      expect(new Set(variablesOf).size).toBe(variablesOf.length);
      expect(variablesOf.length).toBeGreaterThan(5);
    }
    const signalFlags = SIGNAL_SETTINGS.map((s) => s.flag);
    expect(new Set(signalFlags).size).toBe(signalFlags.length);
  });

  it.each(withVariable)('%s: %s is in .env.template with its default and a comment', (_, name, s) => {
    const line = variables.get(name);
    expect(line, `${name} is missing from .env.template`).toBeDefined();
    expect(line?.value, name).toBe(s.default === undefined ? '' : String(s.default));
    expect(line?.comment.length, `${name} has no comment above it`).toBeGreaterThan(0);
    // The flag that sets it is named in the template (in its comment, or its section's).
    if (s.flag !== undefined) expect(template).toContain(`--${s.flag}`);
  });

  it('every variable in .env.template is a setting of peer or the signal server', () => {
    const settings = new Set(withVariable.map(([, name]) => name));
    expect([...variables.keys()].filter((name) => !settings.has(name))).toEqual([]);
  });

  it('only PEER_CODE is taken from the environment alone', () => {
    const alone = PEER_SETTINGS.filter((s) => s.environmentOnly).map((s) => s.env);
    expect(alone).toEqual(['PEER_CODE']);
    expect(variables.get('PEER_CODE')?.comment.join(' ')).toContain('real environment only');
  });

  it.each([...new Set(withVariable.map(([, name]) => name))])('%s has a row in the README', (name) => {
    const rows = read('README.md')
      .split('\n')
      .filter((line) => line.startsWith('| ') && line.split('|')[1]?.includes(`\`${name}\``));
    expect(rows).toHaveLength(1);
  });

  it("the library's own defaults are the ones the peer table shows", () => {
    const env = (name: string) => PEER_SETTINGS.find((s) => s.env === name)?.default;
    expect(env('PEER_RECONNECTS')).toBe(DEFAULTS.PEER_RECONNECTS);
    expect(env('PEER_RECONNECT_FOR')).toBe(`${DEFAULTS.PEER_RECONNECT_FOR}s`);
  });
});
