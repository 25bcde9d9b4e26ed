/**
 * The core (src/core/index.ts) must run in a browser: bundled for one with
 * esbuild, it may reach no Node built-in, no Node-only package, and no Node
 * global. A module of src/core that the index does not reach is not checked,
 * so every one must be reached.
 * And the bundle runs: a key exchange and a sealed message in a realm that
 * has only the language's and the web platform's globals.
 */
import { webcrypto } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import type { Plugin } from 'esbuild';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/project.js';

const root = packageRoot();
const CORE = path.join(root, 'src', 'core');

/** Packages that only run in Node (the rest of the app uses them; the core must not). */
const NODE_ONLY = /^(node:.*|(node-datachannel|ioredis|dotenv|yargs)(\/.*)?)$/;
/** Node's globals: a browser has none of them. */
const NODE_GLOBALS = ['Buffer', 'process', 'global', 'setImmediate', '__dirname', '__filename'];
/** Records each Node-only import with the module that made it, instead of resolving it. */
function nodeOnlyImports(found: string[]): Plugin {
  return {
    name: 'node-only-imports',
    setup(b) {
      b.onResolve({ filter: NODE_ONLY }, (args) => {
        found.push(`${path.relative(root, args.importer)} imports ${args.path}`);
        return { path: args.path, external: true };
      });
    },
  };
}

async function bundleCore(format: 'esm' | 'iife' = 'esm'): Promise<{
  code: string;
  inputs: string[];
  nodeOnly: string[];
}> {
  const nodeOnly: string[] = [];
  // Each free use of a Node global becomes a marker that cannot occur otherwise.
  const define = Object.fromEntries(NODE_GLOBALS.map((g) => [g, `__node_global__${g}`]));
  const result = await build({
    entryPoints: [path.join(CORE, 'index.ts')],
    bundle: true,
    platform: 'browser',
    format,
    ...(format === 'iife' ? { globalName: 'core' } : {}),
    target: 'es2022',
    write: false,
    metafile: true,
    define,
    plugins: [nodeOnlyImports(nodeOnly)],
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]?.text ?? '';
  return { code, inputs: Object.keys(result.metafile.inputs), nodeOnly };
}

function coreModules(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .flatMap((e) =>
      e.isFile() && e.name.endsWith('.ts') ? [path.relative(CORE, path.join(e.parentPath, e.name))] : [],
    );
}

describe('the core, bundled for a browser', async () => {
  const bundle = await bundleCore();

  it('reaches no Node built-in and no Node-only package', () => {
    expect(bundle.nodeOnly).toEqual([]);
  });

  it('uses none of Node’s globals', () => {
    const used = NODE_GLOBALS.filter((g) => bundle.code.includes(`__node_global__${g}`));
    expect(used).toEqual([]);
  });

  it('reaches every module of src/core', () => {
    const reached = new Set(
      bundle.inputs.map((p) => path.relative(CORE, path.resolve(root, p))).filter((p) => !p.startsWith('..')),
    );
    expect(coreModules(CORE).filter((m) => !reached.has(m))).toEqual([]);
  });

  it('the check sees a Node import and a Node global where there is one', async () => {
    const found: string[] = [];
    const result = await build({
      stdin: { contents: "import net from 'node:net'; console.log(net, Buffer.from('x'));", loader: 'ts' },
      bundle: true,
      platform: 'browser',
      write: false,
      define: { Buffer: '__node_global__Buffer' },
      plugins: [nodeOnlyImports(found)],
      logLevel: 'silent',
    });
    expect(found).toEqual(['<stdin> imports node:net']);
    expect(result.outputFiles[0]?.text).toContain('__node_global__Buffer');
  });

  it('runs a key exchange and seals with only what a browser has', async () => {
    const { code } = await bundleCore('iife');
    // A realm of its own: the language's globals, plus these from the web platform.
    const context = vm.createContext({
      TextEncoder,
      TextDecoder,
      crypto: { getRandomValues: (a: Uint8Array): Uint8Array => webcrypto.getRandomValues(a) },
      setTimeout,
      clearTimeout,
    });
    vm.runInContext(code, context);
    const result = vm.runInContext(
      `(() => {
        const code = core.parseCode('42-' + core.generateSecret());
        const sid = crypto.getRandomValues(new Uint8Array(16));
        const party = (initiator) =>
          core.startCpace({ prs: code.secret, ci: core.channelId(code.nameplate), sid, ad: String(initiator), initiator });
        const a = party(true);
        const b = party(false);
        const ka = a.finish(b.share, 'false');
        const kb = b.finish(a.share, 'true');
        const wire = [];
        const pipe = { sendPayload: (p) => wire.push(p), onPayload() {}, onFailure() {} };
        const sealer = new core.SecureChannel(pipe, ka.sealAB, ka.sealBA, ka.sas);
        const opener = new core.SecureChannel(pipe, kb.sealBA, kb.sealAB, kb.sas);
        const opened = [];
        opener.onPayload((p) => opened.push(p));
        sealer.sendPayload('offer ✓');
        opener.receive(wire[0]);
        return {
          opened,
          sealed: wire[0].includes('offer'),
          sas: [core.shortAuthString(ka.sas, 'AA', 'BB'), core.shortAuthString(kb.sas, 'BB', 'AA')],
          node: [typeof Buffer, typeof process, typeof require],
        };
      })()`,
      context,
    );
    expect(result.opened).toEqual(['offer ✓']);
    expect(result.sealed).toBe(false);
    expect(result.sas[0]).toBe(result.sas[1]);
    expect(result.node).toEqual(['undefined', 'undefined', 'undefined']);
  });
});
