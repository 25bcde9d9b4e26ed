import { describe, expect, it } from 'vitest';
import {
  type ControlFrame,
  DATA_HEADER_BYTES,
  encodeControlBytes,
  FrameType,
  MAX_FILE_SIZE,
  MAX_FILES,
  MAX_REL_PATH_BYTES,
  MAX_TEXT_BYTES,
  parseFrame,
  TRANSFER_PROTOCOL_VERSION,
  writeDataHeader,
} from '../../src/core/transfer/protocol.js';
import { allocDataFrame, encodeControl } from '../../src/transfer/frames.js';
import { codeOf } from '../helpers.js';

/** A control frame built by hand: type byte, then `json` verbatim. */
function raw(type: number, json: string): Buffer {
  return Buffer.concat([Buffer.from([type]), Buffer.from(json, 'utf8')]);
}

const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('control frames', () => {
  const frames: ControlFrame[] = [
    {
      type: 'manifest',
      v: TRANSFER_PROTOCOL_VERSION,
      files: [
        { name: 'a.txt', size: 0 },
        { name: 'résumé.pdf', size: MAX_FILE_SIZE, sha256: SHA },
      ],
    },
    { type: 'accept', window: 16 * 1024 * 1024, resume: [] },
    { type: 'accept', window: 1, resume: [{ file: 2, blocks: 3, digest: 'ab'.repeat(32) }] },
    { type: 'accept', window: 1, resume: [], have: [0, MAX_FILES] },
    { type: 'accept', window: 1, resume: [], already: [1, MAX_FILES] },
    { type: 'file-start', file: 1, offset: 4 * 1024 * 1024 },
    { type: 'credit', bytes: 1024 * 1024 },
    { type: 'file-end', file: 3, sha256: SHA },
    { type: 'file-ok', file: MAX_FILES },
    { type: 'end' },
    { type: 'done' },
    { type: 'ping' },
    { type: 'error', code: 'DISK_FULL', message: 'no space left' },
  ];

  it.each(frames.map((f) => [f.type, f] as const))('round-trips %s', (_type, frame) => {
    expect(parseFrame(encodeControl(frame))).toEqual(frame);
  });

  it('puts the FrameType byte first', () => {
    expect(encodeControl({ type: 'manifest', v: TRANSFER_PROTOCOL_VERSION, files: [] })[0]).toBe(
      FrameType.MANIFEST,
    );
    expect(encodeControl({ type: 'ping' })[0]).toBe(FrameType.PING);
    expect(encodeControl({ type: 'error', code: 'INTERNAL', message: '' })[0]).toBe(FrameType.ERROR);
    expect(encodeControl({ type: 'credit', bytes: 7 }).subarray(1).toString()).toBe('{"bytes":7}');
  });
});

describe('DATA frames', () => {
  it('round-trips file index, a 48-bit offset and the payload', () => {
    const payload = Buffer.from('hello, peer');
    const frame = allocDataFrame(0xfffffffe, 2 ** 40 + 5, payload.length);
    expect(frame.length).toBe(DATA_HEADER_BYTES + payload.length);
    expect(frame[0]).toBe(FrameType.DATA);
    payload.copy(frame, DATA_HEADER_BYTES);
    const parsed = parseFrame(frame);
    expect(parsed).toEqual({ type: 'data', file: 0xfffffffe, offset: 2 ** 40 + 5, payload });
  });

  it('carries the largest offset', () => {
    const frame = allocDataFrame(1, MAX_FILE_SIZE, 1);
    frame[DATA_HEADER_BYTES] = 0xab;
    expect(parseFrame(frame)).toMatchObject({ file: 1, offset: 2 ** 48 - 1 });
  });

  it('reads any Uint8Array, as a browser delivers it, and writes headers into one (no Buffer)', () => {
    const frame = new Uint8Array(DATA_HEADER_BYTES + 3).fill(9);
    writeDataHeader(frame, 0x01020304, 2 ** 47 + 2 ** 33 + 7);
    expect(parseFrame(frame)).toEqual({
      type: 'data',
      file: 0x01020304,
      offset: 2 ** 47 + 2 ** 33 + 7,
      payload: new Uint8Array([9, 9, 9]),
    });
    expect(parseFrame(encodeControlBytes({ type: 'credit', bytes: 7 }))).toEqual({
      type: 'credit',
      bytes: 7,
    });
    // The same bytes as Node's own big-endian writers give.
    const node = Buffer.alloc(DATA_HEADER_BYTES);
    node[0] = FrameType.DATA;
    node.writeUInt32BE(0x01020304, 1);
    node.writeUIntBE(2 ** 47 + 2 ** 33 + 7, 5, 6);
    expect(Buffer.from(frame.subarray(0, DATA_HEADER_BYTES))).toEqual(node);
  });

  it('refuses a DATA frame with no payload', () => {
    expect(codeOf(() => parseFrame(allocDataFrame(0, 0, 0)))).toBe('BAD_FRAME');
    expect(codeOf(() => parseFrame(Buffer.from([FrameType.DATA])))).toBe('BAD_FRAME');
  });
});

describe('parseFrame rejections', () => {
  it.each([
    ['a string', 'hello'],
    ['an ArrayBuffer', new ArrayBuffer(1)],
    ['undefined', undefined],
  ])('refuses input that is not bytes (%s)', (_label, input) => {
    expect(codeOf(() => parseFrame(input))).toBe('BAD_FRAME');
  });

  it('refuses an empty buffer', () => {
    expect(codeOf(() => parseFrame(Buffer.alloc(0)))).toBe('BAD_FRAME');
  });

  it.each([0, 11, 200, 255])('refuses the unknown type byte %d', (type) => {
    expect(codeOf(() => parseFrame(raw(type, '{}')))).toBe('BAD_FRAME');
  });

  it.each([
    ['not JSON', '{"window":'],
    ['empty body', ''],
    ['an array', '[1]'],
    ['null', 'null'],
  ])('refuses a control frame whose body is %s', (_label, json) => {
    expect(codeOf(() => parseFrame(raw(FrameType.ACCEPT, json)))).toBe('BAD_FRAME');
    expect(codeOf(() => parseFrame(raw(FrameType.MANIFEST, json)))).toBe('BAD_FRAME');
  });

  it.each([
    ['a negative index', '{"window":1,"resume":[],"have":[-1]}'],
    ['an index past the limit', `{"window":1,"resume":[],"have":[${MAX_FILES + 1}]}`],
    ['a string', '{"window":1,"resume":[],"have":"0"}'],
  ])('refuses ACCEPT whose list of held files has %s', (_label, json) => {
    expect(codeOf(() => parseFrame(raw(FrameType.ACCEPT, json)))).toBe('BAD_FRAME');
  });

  it.each(['"size":-1', '"size":1.5', '"size":"10"', '"size":1e300', `"size":${2 ** 48}`])(
    'refuses a manifest entry with %s',
    (size) => {
      const json = `{"v":${TRANSFER_PROTOCOL_VERSION},"files":[{"name":"a.txt",${size}}]}`;
      expect(codeOf(() => parseFrame(raw(FrameType.MANIFEST, json)))).toBe('BAD_FRAME');
    },
  );

  it('refuses a manifest entry without a size, a name, or that is not an object', () => {
    for (const entry of ['{"name":"a"}', '{"size":1}', '{"name":7,"size":1}', 'null', '"a.txt"']) {
      const json = `{"v":${TRANSFER_PROTOCOL_VERSION},"files":[${entry}]}`;
      expect(
        codeOf(() => parseFrame(raw(FrameType.MANIFEST, json))),
        entry,
      ).toBe('BAD_FRAME');
    }
    expect(codeOf(() => parseFrame(raw(FrameType.MANIFEST, `{"v":${TRANSFER_PROTOCOL_VERSION}}`)))).toBe(
      'BAD_FRAME',
    );
    expect(
      codeOf(() => parseFrame(raw(FrameType.MANIFEST, `{"v":${TRANSFER_PROTOCOL_VERSION},"files":{}}`))),
    ).toBe('BAD_FRAME');
  });

  it('accepts MAX_FILES entries and refuses MAX_FILES + 1', () => {
    const files = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `f${i}`, size: i }));
    const ok = parseFrame(
      encodeControl({ type: 'manifest', v: TRANSFER_PROTOCOL_VERSION, files: files(MAX_FILES) }),
    );
    expect(ok.type === 'manifest' && ok.files.length).toBe(MAX_FILES);
    const tooMany = encodeControl({
      type: 'manifest',
      v: TRANSFER_PROTOCOL_VERSION,
      files: files(MAX_FILES + 1),
    });
    expect(codeOf(() => parseFrame(tooMany))).toBe('BAD_FRAME');
  });

  it('accepts a relative path of MAX_REL_PATH_BYTES and refuses one byte more', () => {
    const manifest = (name: string) =>
      encodeControl({ type: 'manifest', v: TRANSFER_PROTOCOL_VERSION, files: [{ name, size: 1 }] });
    expect(parseFrame(manifest('n'.repeat(MAX_REL_PATH_BYTES)))).toMatchObject({ type: 'manifest' });
    expect(codeOf(() => parseFrame(manifest('n'.repeat(MAX_REL_PATH_BYTES + 1))))).toBe('BAD_FRAME');
    // 2049 two-byte characters: 4098 bytes, though only 2049 UTF-16 units.
    expect(codeOf(() => parseFrame(manifest('é'.repeat(2049))))).toBe('BAD_FRAME');
  });

  it('carries modes, mtimes, empty folders, unknown sizes and text', () => {
    const frame = encodeControl({
      type: 'manifest',
      v: TRANSFER_PROTOCOL_VERSION,
      files: [
        { name: 'a/b', size: 3, mode: 0o755, mtime: 1_700_000_000_000 },
        { name: 'a/empty', size: 0, kind: 'dir' },
        { name: 'stdin', size: null },
      ],
    });
    expect(parseFrame(frame)).toMatchObject({
      files: [
        { name: 'a/b', size: 3, mode: 0o755, mtime: 1_700_000_000_000 },
        { name: 'a/empty', size: 0, kind: 'dir' },
        { name: 'stdin', size: null },
      ],
    });
    const text = (t: string) =>
      encodeControl({ type: 'manifest', v: TRANSFER_PROTOCOL_VERSION, files: [], text: t });
    expect(parseFrame(text('hello'))).toMatchObject({ text: 'hello' });
    expect(codeOf(() => parseFrame(text('x'.repeat(MAX_TEXT_BYTES + 1))))).toBe('TEXT_TOO_LARGE');
    const badMode = raw(
      FrameType.MANIFEST,
      `{"v":${TRANSFER_PROTOCOL_VERSION},"files":[{"name":"a","size":1,"mode":4095}]}`,
    );
    expect(codeOf(() => parseFrame(badMode))).toBe('BAD_FRAME');
  });

  it('refuses a manifest of another version with VERSION_MISMATCH', () => {
    for (const v of ['99', '0']) {
      const frame = raw(FrameType.MANIFEST, `{"v":${v},"files":[]}`);
      expect(
        codeOf(() => parseFrame(frame)),
        v,
      ).toBe('VERSION_MISMATCH');
    }
  });

  it.each([
    ['missing', '{"file":0}'],
    ['too short', `{"file":0,"sha256":"${SHA.slice(1)}"}`],
    ['upper-case', `{"file":0,"sha256":"${SHA.toUpperCase()}"}`],
    ['not hex', `{"file":0,"sha256":"${'g'.repeat(64)}"}`],
    ['a number', '{"file":0,"sha256":12}'],
  ])('refuses FILE_END with a sha256 that is %s', (_label, json) => {
    expect(codeOf(() => parseFrame(raw(FrameType.FILE_END, json)))).toBe('BAD_FRAME');
  });

  it.each([
    ['not hex', '"size":0,"sha256":"xyz"'],
    ['too short', '"size":0,"sha256":"abcd"'],
    ['upper case', `"size":0,"sha256":"${SHA.toUpperCase()}"`],
    ['on a folder', `"size":0,"kind":"dir","sha256":"${SHA}"`],
    ['on a stream', `"size":null,"sha256":"${SHA}"`],
  ])('refuses a manifest entry whose sha256 is %s', (_label, fields) => {
    const json = `{"v":${TRANSFER_PROTOCOL_VERSION},"files":[{"name":"a",${fields}}]}`;
    expect(codeOf(() => parseFrame(raw(FrameType.MANIFEST, json)))).toBe('BAD_FRAME');
  });

  it('refuses an ACCEPT whose list of files already there is not a list of indices', () => {
    for (const already of ['{}', '[-1]', '[0.5]', `[${MAX_FILES + 1}]`, '"0"']) {
      const frame = raw(FrameType.ACCEPT, `{"window":1,"resume":[],"already":${already}}`);
      expect(
        codeOf(() => parseFrame(frame)),
        already,
      ).toBe('BAD_FRAME');
    }
  });

  it('refuses FILE_END, FILE_OK, ACCEPT and CREDIT with bad counts', () => {
    expect(codeOf(() => parseFrame(raw(FrameType.FILE_END, `{"file":-1,"sha256":"${SHA}"}`)))).toBe(
      'BAD_FRAME',
    );
    const farEnd = raw(FrameType.FILE_END, `{"file":${MAX_FILES + 1},"sha256":"${SHA}"}`);
    expect(codeOf(() => parseFrame(farEnd))).toBe('BAD_FRAME');
    expect(codeOf(() => parseFrame(raw(FrameType.FILE_OK, `{"file":${MAX_FILES + 1}}`)))).toBe('BAD_FRAME');
    expect(codeOf(() => parseFrame(raw(FrameType.ACCEPT, '{"window":"16"}')))).toBe('BAD_FRAME');
    expect(codeOf(() => parseFrame(raw(FrameType.CREDIT, '{"bytes":0.5}')))).toBe('BAD_FRAME');
  });

  it('maps an ERROR frame with an unknown code to REMOTE_ERROR and bounds its message', () => {
    const frame = raw(FrameType.ERROR, JSON.stringify({ code: 'WHATEVER', message: 'm'.repeat(600) }));
    expect(parseFrame(frame)).toEqual({ type: 'error', code: 'REMOTE_ERROR', message: 'm'.repeat(500) });
    expect(parseFrame(raw(FrameType.ERROR, '{"code":"constructor"}'))).toEqual({
      type: 'error',
      code: 'REMOTE_ERROR',
      message: 'unknown error',
    });
  });
});
