/** The swarm's manifest, root, ticket and .p2p file: canonical, checked, and a typo caught before any network. */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { PeerlaneError } from '../../src/core/errors.js';
import type { SwarmManifest } from '../../src/core/swarm/manifest.js';
import {
  ChunkLayout,
  chooseChunkSize,
  encodeManifest,
  MAX_CHUNKS,
  manifestRoot,
  parseManifest,
  verifyManifest,
} from '../../src/core/swarm/manifest.js';
import {
  encodeP2p,
  encodeTicket,
  parseP2p,
  parseTicket,
  TICKET_PREFIX,
} from '../../src/core/swarm/ticket.js';

const hashOf = (s: string): string => bytesToHex(sha256(new TextEncoder().encode(s)));

function sample(): SwarmManifest {
  // a: 2 chunks; empty: none; b/c: 1 short chunk.
  return {
    chunkSize: 16384,
    files: [
      { name: 'a.bin', size: 20000, mode: 0o644 },
      { name: 'empty', size: 0, mode: 0o600 },
      { name: 'b/c.txt', size: 5, mode: 0o755 },
    ],
    chunks: [hashOf('0'), hashOf('1'), hashOf('2')],
  };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof PeerlaneError ? err.code : 'not a PeerlaneError';
  }
  return undefined;
}

describe('manifest', () => {
  it('round-trips through its canonical bytes, and the root is their SHA-256', () => {
    const bytes = encodeManifest(sample());
    expect(parseManifest(bytes)).toEqual(sample());
    expect(manifestRoot(bytes)).toBe(bytesToHex(sha256(bytes)));
    expect(new TextDecoder().decode(bytes)).toMatch(
      /^\{"chunkSize":16384,"chunks":"[0-9a-f]{192}","files":\[\{"mode":420,"name":"a.bin","size":20000\}/,
    );
  });

  it('refuses any other encoding of the same manifest, and a wrong root', () => {
    const text = new TextDecoder().decode(encodeManifest(sample()));
    const spaced = new TextEncoder().encode(text.replace(':16384', ': 16384'));
    expect(code(() => parseManifest(spaced))).toBe('BAD_MANIFEST');
    const bytes = encodeManifest(sample());
    expect(code(() => verifyManifest(bytes, hashOf('other')))).toBe('BAD_MANIFEST');
    expect(verifyManifest(bytes, manifestRoot(bytes)).files).toHaveLength(3);
  });

  it('refuses chunk lists that do not fit the files, twice-named files and bad chunk sizes', () => {
    const short = { ...sample(), chunks: sample().chunks.slice(1) };
    expect(code(() => parseManifest(encodeManifest(short)))).toBe('BAD_MANIFEST');
    const twice = sample();
    twice.files[2] = { name: 'a.bin', size: 5, mode: 0o644 };
    expect(code(() => parseManifest(encodeManifest(twice)))).toBe('BAD_MANIFEST');
    expect(code(() => parseManifest(encodeManifest({ ...sample(), chunkSize: 20000 })))).toBe('BAD_MANIFEST');
  });

  it('places chunks per file, skipping empty files', () => {
    const layout = new ChunkLayout(sample());
    expect(layout.count).toBe(3);
    expect(layout.totalBytes).toBe(20005);
    expect(layout.place(0)).toEqual({ file: 0, offset: 0, length: 16384 });
    expect(layout.place(1)).toEqual({ file: 0, offset: 16384, length: 3616 });
    expect(layout.place(2)).toEqual({ file: 2, offset: 0, length: 5 });
    expect(layout.chunksOfFile(1)).toEqual([2, 2]);
  });

  it('grows the default chunk size until a share fits the chunk limit', () => {
    expect(chooseChunkSize(1024 ** 3)).toBe(1024 * 1024);
    expect(1024 ** 4 / chooseChunkSize(1024 ** 4)).toBeLessThanOrEqual(MAX_CHUNKS);
  });
});

describe('ticket', () => {
  const ticket = {
    root: hashOf('root'),
    secret: new Uint8Array(16).map((_, i) => i * 7),
    signal: { host: 'signal.example.org', port: 9000 },
  };

  it('is one line with the prefix, and parses back', () => {
    const text = encodeTicket(ticket);
    expect(text.startsWith(TICKET_PREFIX)).toBe(true);
    expect(text).toMatch(/^[a-z-]+:[A-Za-z0-9_-]+$/);
    expect(parseTicket(`  ${text}\n`)).toEqual(ticket);
  });

  it('catches a changed, lost or added character before any network', () => {
    const text = encodeTicket(ticket);
    const at = TICKET_PREFIX.length + 20;
    const changed = text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
    expect(code(() => parseTicket(changed))).toBe('BAD_TICKET');
    expect(code(() => parseTicket(text.slice(0, -1)))).toBe('BAD_TICKET');
    expect(code(() => parseTicket(`${text}A`))).toBe('BAD_TICKET');
    expect(code(() => parseTicket('peerlane-swarm:!!'))).toBe('BAD_TICKET');
    expect(code(() => parseTicket('7-crossover-clockwork'))).toBe('BAD_TICKET');
  });
});

describe('.p2p file', () => {
  const manifest = sample();
  const root = manifestRoot(encodeManifest(manifest));
  const ticket = encodeTicket({ root, secret: new Uint8Array(16), signal: { host: '127.0.0.1', port: 1 } });

  it('carries the ticket and the manifest, checked against the root', () => {
    const parsed = parseP2p(encodeP2p(ticket, manifest));
    expect(parsed.manifest).toEqual(manifest);
    expect(parsed.ticket.root).toBe(root);
  });

  it('refuses a manifest edited after the ticket was made', () => {
    const tampered = encodeP2p(ticket, manifest).replace('"size":5', '"size":6');
    expect(code(() => parseP2p(tampered))).toBe('BAD_MANIFEST');
  });
});
