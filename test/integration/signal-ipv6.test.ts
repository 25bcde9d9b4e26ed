/**
 * IPv6 clients counted by prefix (issue 14, item 8): one subscriber's /64
 * holds 2^64 addresses, so a per-address cap would not hold it at all. The
 * real `serve:signal` runs in a network namespace this test creates (root
 * only), with forty addresses of one /64 and one of another on its loopback;
 * the attacker is a small Node script in the same namespace.
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNAL_PROTOCOL_VERSION } from '../../src/core/signaling/protocol.js';
import { entryPoint } from '../../src/project.js';
import { Harness } from '../../src/testing/harness.js';

const run = promisify(execFile);
const NS = `peerlane-v6-${process.pid}`;
const canNetns = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
/** Forty addresses in 2001:db8:0:1::/64, one attacker's subscriber prefix. */
const ONE_PREFIX = Array.from({ length: 40 }, (_, i) => `2001:db8:0:1::${(i + 1).toString(16)}`);
const OTHER_PREFIX = '2001:db8:0:2::1';

/** Each address opens one connection and registers; all stay open until every answer is in. */
const ATTACKER = `
import net from 'node:net';
const { port, v, from } = JSON.parse(process.env.ATTACK);
const one = (localAddress) => new Promise((resolve) => {
  const s = net.connect({ host: '::1', port, localAddress });
  let buf = '';
  s.setEncoding('utf8');
  s.on('connect', () => s.write(JSON.stringify({ v, type: 'register' }) + '\\n'));
  s.on('data', (d) => {
    buf += d;
    const nl = buf.indexOf('\\n');
    if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
  });
  s.on('error', (e) => resolve({ type: 'socket-error', code: e.code }));
  s.on('close', () => resolve({ type: 'closed' }));
});
const answers = await Promise.all(from.map(one));
console.log(JSON.stringify(answers.map((a) => (a.type === 'error' ? a.code : a.type))));
process.exit(0);
`;

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

/** What each address's register got: 'registered', or the error code. */
async function attack(port: number, from: string[]): Promise<string[]> {
  const env = { ...process.env, ATTACK: JSON.stringify({ port, v: SIGNAL_PROTOCOL_VERSION, from }) };
  const argv = ['netns', 'exec', NS, process.execPath, '--input-type=module', '-e', ATTACKER];
  const { stdout } = await run('ip', argv, { env });
  return JSON.parse(stdout) as string[];
}

const count = (answers: string[], what: string): number => answers.filter((a) => a === what).length;

describe.runIf(canNetns)('IPv6 clients, counted by prefix', () => {
  const h = new Harness();

  beforeAll(() => {
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    const batch = [...ONE_PREFIX, OTHER_PREFIX].map((a) => `addr add ${a}/128 dev lo nodad`).join('\n');
    const r = spawnSync('ip', ['-n', NS, '-batch', '-'], { input: `${batch}\n`, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`adding addresses: ${r.stderr}`);
  });

  afterAll(async () => {
    await h.cleanup();
    spawnSync('ip', ['netns', 'del', NS]);
  });

  async function server(args: string[]): Promise<number> {
    const flags = ['--host', '::', '--port', '0', '--json', '--max-connections-per-ip', '4', ...args];
    const proc = h.spawnCommand('ip', [
      'netns',
      'exec',
      NS,
      process.execPath,
      entryPoint('signal'),
      ...flags,
    ]);
    return (await proc.waitFor('listening')).port;
  }

  it('forty addresses of one /64 share one address’s cap; another /64 has its own', async () => {
    const port = await server([]);
    const answers = await attack(port, [...ONE_PREFIX, OTHER_PREFIX]);
    const prefix = answers.slice(0, ONE_PREFIX.length);
    expect(count(prefix, 'registered'), JSON.stringify(answers)).toBe(4);
    expect(count(prefix, 'RATE_LIMITED')).toBe(ONE_PREFIX.length - 4);
    expect(answers.at(-1)).toBe('registered');
  });

  it('the prefix length is configurable: --ipv6-prefix 128 counts each address alone', async () => {
    const port = await server(['--ipv6-prefix', '128']);
    const answers = await attack(port, ONE_PREFIX);
    expect(count(answers, 'registered'), JSON.stringify(answers)).toBe(ONE_PREFIX.length);
  });
});
