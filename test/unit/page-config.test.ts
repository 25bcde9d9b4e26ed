/** The page's configuration (core/signaling/page-config.ts): what the server writes, and what the page takes. */
import { describe, expect, it } from 'vitest';
import { parsePageConfig, stunUrlFor } from '../../src/core/signaling/page-config.js';

describe('the page configuration', () => {
  it('names STUN under the host the browser asked for, with the UDP port', () => {
    expect(stunUrlFor('peer.example.org', 7070)).toBe('stun:peer.example.org:7070');
    expect(stunUrlFor('peer.example.org:443', 7070)).toBe('stun:peer.example.org:7070');
    expect(stunUrlFor('127.0.0.1:8080', 7070)).toBe('stun:127.0.0.1:7070');
    expect(stunUrlFor('[::1]:8080', 7070)).toBe('stun:[::1]:7070');
  });

  it('names nothing under a Host that is no plain hostname', () => {
    for (const host of [undefined, '', 'a b', 'x/y', 'a@b', 'x:y:z', '[::1', 'é.example']) {
      expect(stunUrlFor(host, 7070), String(host)).toBeUndefined();
    }
  });

  it('takes stun:host:port URLs, an absent list as none, and refuses anything else', () => {
    expect(parsePageConfig('{"stun":["stun:a.example:1"]}')).toEqual({ stun: ['stun:a.example:1'] });
    expect(parsePageConfig('{}')).toEqual({ stun: [] });
    for (const raw of [
      'nope',
      '[]',
      '{"stun":"stun:a:1"}',
      '{"stun":["turn:a.example:1"]}',
      '{"stun":["stun:a.example"]}',
      '{"stun":["stun:a.example:1?transport=tcp"]}',
      '{"stun":[1]}',
      JSON.stringify({ stun: Array(5).fill('stun:a:1') }),
    ]) {
      expect(() => parsePageConfig(raw), raw).toThrow(expect.objectContaining({ code: 'BAD_MESSAGE' }));
    }
  });
});
