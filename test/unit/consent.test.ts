import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  confirmManifest,
  describeManifest,
  displayName,
  dotfileWarning,
  isDotfile,
  MAX_LISTED_FILES,
} from '../../src/cli/consent.js';
import { PeerlaneError } from '../../src/core/errors.js';

function streams(tty: { input: boolean; output: boolean } = { input: true, output: true }) {
  const input = Object.assign(new PassThrough(), { isTTY: tty.input });
  const output = Object.assign(new PassThrough(), { isTTY: tty.output });
  let text = '';
  output.setEncoding('utf8');
  output.on('data', (chunk: string) => {
    text += chunk;
  });
  return { input, output, text: () => text };
}

const files = [
  { name: 'a.txt', size: 1234 },
  { name: 'photo.jpg', size: 2_500_000 },
];

/** Resolve once `output` has printed the question. */
async function prompted(s: ReturnType<typeof streams>): Promise<void> {
  await expect.poll(() => s.text()).toContain('Accept? [y/N] ');
}

describe('confirmManifest', () => {
  it('with yes, prints the manifest and accepts without asking', async () => {
    const s = streams({ input: false, output: false });
    await confirmManifest(files, { yes: true, input: s.input, output: s.output });
    const text = s.text();
    expect(text).toContain('2 files, 2.5 MB');
    expect(text).toContain('a.txt');
    expect(text).toContain('1.2 kB');
    expect(text).toContain('photo.jpg');
    expect(text).not.toContain('Accept?');
  });

  it.each(['y', 'Y', 'yes', 'YES', 'Yes', ' y '])('accepts the answer %j', async (answer) => {
    const s = streams();
    const done = confirmManifest(files, { yes: false, input: s.input, output: s.output });
    await prompted(s);
    s.input.write(`${answer}\n`);
    await expect(done).resolves.toBeUndefined();
  });

  it.each(['', 'n', 'no', 'N', ' NO '])('refuses the answer %j (Enter is no)', async (answer) => {
    const s = streams();
    const done = confirmManifest(files, { yes: false, input: s.input, output: s.output });
    await prompted(s);
    s.input.write(`${answer}\n`);
    await expect(done).rejects.toMatchObject({ code: 'REFUSED', message: 'you declined the files' });
  });

  it.each(['yep', 'yes please', 'ok', 'sí', 'nope'])(
    'asks again after %j, then takes the answer',
    async (answer) => {
      for (const [final, outcome] of [
        ['y', 'accepts'],
        ['n', 'refuses'],
      ] as const) {
        const s = streams();
        const done = confirmManifest(files, { yes: false, input: s.input, output: s.output });
        await prompted(s);
        s.input.write(`${answer}\n`);
        await expect.poll(() => s.text()).toContain('Please answer y or n');
        expect(s.text().split('Accept? [y/N] ')).toHaveLength(3);
        s.input.write(`${final}\n`);
        if (outcome === 'accepts') await expect(done).resolves.toBeUndefined();
        else await expect(done).rejects.toMatchObject({ code: 'REFUSED' });
      }
    },
  );

  it('refuses at the end of input', async () => {
    const s = streams();
    const done = confirmManifest(files, { yes: false, input: s.input, output: s.output });
    await prompted(s);
    s.input.end();
    await expect(done).rejects.toMatchObject({ code: 'REFUSED' });
  });

  it('reads only the first line', async () => {
    const s = streams();
    const done = confirmManifest(files, { yes: false, input: s.input, output: s.output });
    s.input.write('n\ny\n');
    await expect(done).rejects.toMatchObject({ code: 'REFUSED' });
  });

  it.each([
    { input: false, output: false },
    { input: true, output: false },
    { input: false, output: true },
  ])('without a terminal (%j) and without yes, requires consent', async (tty) => {
    const s = streams(tty);
    const err = await confirmManifest(files, { yes: false, input: s.input, output: s.output }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PeerlaneError);
    expect(err).toMatchObject({ code: 'CONSENT_REQUIRED' });
    // The manifest is still shown, so the log says what was refused.
    expect(s.text()).toContain('photo.jpg');
    expect(s.text()).not.toContain('Accept?');
  });

  it('treats streams without isTTY as no terminal', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    await expect(confirmManifest(files, { yes: false, input, output })).rejects.toMatchObject({
      code: 'CONSENT_REQUIRED',
    });
  });

  it('stops asking when aborted, with the reason', async () => {
    const s = streams();
    const controller = new AbortController();
    const done = confirmManifest(files, {
      yes: false,
      input: s.input,
      output: s.output,
      signal: controller.signal,
    });
    await prompted(s);
    controller.abort(new PeerlaneError('PEER_LOST', 'the peer left'));
    await expect(done).rejects.toMatchObject({ code: 'PEER_LOST' });
    // A later answer changes nothing, and does not throw.
    s.input.write('y\n');
  });

  it('rejects at once if already aborted', async () => {
    const s = streams();
    const controller = new AbortController();
    controller.abort();
    await expect(
      confirmManifest(files, { yes: false, input: s.input, output: s.output, signal: controller.signal }),
    ).rejects.toMatchObject({ code: 'INTERRUPTED' });
  });
});

describe('describeManifest', () => {
  it('lists one file in the singular', () => {
    expect(describeManifest([{ name: 'a', size: 0 }])).toEqual([
      'The sender offers 1 file, 0 B:',
      `  ${'0 B'.padStart(9)}  a`,
    ]);
  });

  it('counts files only, and lists a folder only when it is empty', () => {
    const lines = describeManifest([
      { name: 'tree/a.txt', size: 1000 },
      { name: 'tree/empty', size: 0, kind: 'dir' },
      { name: 'tree', size: 0, kind: 'dir' },
    ]);
    expect(lines).toEqual([
      'The sender offers 1 file, 1.0 kB:',
      `  ${'1.0 kB'.padStart(9)}  tree/a.txt`,
      `  ${'folder'.padStart(9)}  tree/empty/`,
    ]);
  });

  it(`lists the first ${MAX_LISTED_FILES} files and counts the rest`, () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ name: `f${i}.bin`, size: 1000 }));
    const lines = describeManifest(many);
    expect(lines[0]).toBe('The sender offers 25 files, 25.0 kB:');
    expect(lines).toHaveLength(1 + MAX_LISTED_FILES + 1);
    expect(lines.some((l) => l.endsWith('f19.bin'))).toBe(true);
    expect(lines.some((l) => l.endsWith('f20.bin'))).toBe(false);
    expect(lines.at(-1)).toBe('  … and 5 more');
  });

  it(`lists exactly ${MAX_LISTED_FILES} files without a remainder line`, () => {
    const lines = describeManifest(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, size: 1 })));
    expect(lines).toHaveLength(21);
    expect(lines.join('\n')).not.toContain('more');
  });
});

describe('displayName', () => {
  it.each(['a.txt', 'résumé.pdf', '日本語.txt', 'my file (1).tar.gz', '🎉.png', '.bashrc'])(
    'prints %j as is',
    (name) => {
      expect(displayName(name)).toBe(name);
    },
  );

  it.each([
    ['a\u001bb', '"a\\u001bb"'],
    ['a\u202eb', '"a\\u202eb"'],
    ['zero\u200bwidth', '"zero\\u200bwidth"'],
    [' lead', '" lead"'],
    ['trail ', '"trail "'],
    ['tab\there', '"tab\\u0009here"'],
    ['quote" \\ \u00a0', '"quote\\" \\\\ \\u00a0"'],
  ])('quotes and escapes %j', (name, shown) => {
    expect(displayName(name)).toBe(shown);
  });
});

describe('dotfiles', () => {
  const offer = [
    { name: 'project/.env', size: 40 },
    { name: 'project/.git', size: 0, kind: 'dir' as const },
    { name: 'project/main.c', size: 10 },
  ];

  it('are what has a component starting with a dot', () => {
    expect(['.env', '.bashrc', 'a/.ssh/authorized_keys', '.git/config', 'a.b', 'x/y'].map(isDotfile)).toEqual(
      [true, true, true, true, false, false],
    );
  });

  it('--yes alone refuses them with DOTFILES_REFUSED, after listing them with a warning', async () => {
    const s = streams({ input: false, output: false });
    await expect(
      confirmManifest(offer, { yes: true, input: s.input, output: s.output }),
    ).rejects.toMatchObject({
      code: 'DOTFILES_REFUSED',
    });
    expect(s.text()).toContain('Warning: 2 of these are dotfiles');
    expect(s.text()).toContain('project/.env, project/.git/');
  });

  it('--yes with --allow-dotfiles accepts them', async () => {
    const s = streams({ input: false, output: false });
    await confirmManifest(offer, { yes: true, allowDotfiles: true, input: s.input, output: s.output });
    expect(s.text()).toContain('Warning');
  });

  it('the prompt shows the warning before the question, and a yes accepts', async () => {
    const s = streams();
    const done = confirmManifest(offer, { yes: false, input: s.input, output: s.output });
    await prompted(s);
    expect(s.text().indexOf('Warning')).toBeLessThan(s.text().indexOf('Accept?'));
    s.input.write('y\n');
    await expect(done).resolves.toBeUndefined();
  });

  it('an offer without dotfiles gets no warning', () => {
    expect(dotfileWarning(files)).toEqual([]);
  });
});
