/**
 * The transfer engines run in a browser as they are: bundled for a browser
 * target, they reach no `node:` module and no Node global. (A test bundling
 * all of src/core guards the rest of the core.)
 */
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/project.js';

describe('the transfer engines in a browser bundle', () => {
  it('reach only core modules and @noble, with no Buffer or process', async () => {
    const root = packageRoot();
    const result = await build({
      entryPoints: ['receiver-engine.ts', 'sender-engine.ts'].map((f) =>
        path.join(root, 'src/core/transfer', f),
      ),
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      outdir: path.join(root, 'dist', 'browser-check'),
      metafile: true,
      // Comments gone: only code may name Buffer or process (global names survive minifying).
      minify: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((f) => !f.startsWith('src/core/') && !f.includes('node_modules/@noble/'))).toEqual(
      [],
    );
    for (const out of result.outputFiles) {
      expect(out.text).not.toMatch(/\bBuffer\.|\bprocess\.|"node:/);
    }
  });
});
