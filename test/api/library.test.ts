/**
 * peerlane as a library, imported by name as a user's project imports it:
 * the README's example of programmatic use, word for word, in a project whose
 * node_modules/peerlane is this checkout (its built dist/, through
 * package.json's `exports`), run by node and checked by tsc; and the harness
 * that ships as 'peerlane/testing'. (package.test.ts runs the same example
 * against the package installed from its tarball.)
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/project.js';
import { useHarness } from '../../src/testing/hooks.js';
import {
  readmeExample,
  runHarnessScript,
  runReadmeExample,
  typecheckScripts,
  userProject,
} from './user-project.js';

const h = useHarness({ afterEach });

async function project(): Promise<string> {
  const dir = await h.tempDir('peerlane-user-');
  await userProject(dir, packageRoot());
  return dir;
}

describe("the README's library example", () => {
  it("imports send, receive and SignalServer from 'peerlane'", async () => {
    expect(await readmeExample()).toMatch(/^import \{[^}]*\breceive\b[^}]*\} from 'peerlane';$/m);
    expect(await readmeExample()).toMatch(/\bsend\(/);
    expect(await readmeExample()).toMatch(/new SignalServer\(/);
  });

  it('moves notes.txt into dl/, verified, and exits by itself', async () => {
    const dir = await project();
    const { stdout, sent, received, receivedPath } = await runReadmeExample(dir);
    expect(received).toBe(sent);
    expect(stdout).toBe(`${receivedPath}: SHA-256 ${sent}\n`);
  });

  it("typechecks against peerlane's own declarations, which would catch a wrong option", async () => {
    const dir = await project();
    const example = await readmeExample();
    await fs.writeFile(path.join(dir, 'example.mjs'), example);
    // The check has teeth: a misspelt option is an error naming the options type.
    await fs.writeFile(path.join(dir, 'typo.mjs'), example.replace("outDir: 'dl'", "outdir: 'dl'"));
    const { ok, output } = await typecheckScripts(dir, ['example.mjs', 'typo.mjs']);
    expect(ok).toBe(false);
    expect(output.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^typo\.mjs\(\d+,\d+\): error TS2561: .*'outdir' does not exist in type 'ReceiveSessionOptions'/,
      ),
    ]);
  }, 60_000);
});

/**
 * The package by name inside this test process (vitest resolves it through
 * `exports` to dist/, as Node does). A variable, so that `tsc --noEmit` does
 * not need dist/ to be built: the types are checked above, from the example.
 */
const PACKAGE = 'peerlane';

describe("'peerlane' in this process", () => {
  it('exports exactly the public surface, and nothing internal', async () => {
    const api = (await import(PACKAGE)) as Record<string, unknown>;
    expect(Object.keys(api).sort()).toEqual([
      'DEFAULT_CODE_WORDS',
      'ERROR_CODES',
      'EVENT_NAMES',
      'MAX_CODE_WORDS',
      'MIN_CODE_WORDS',
      'PeerlaneError',
      'SignalServer',
      'formatCode',
      'generateSecret',
      'isErrorCode',
      'listPeers',
      'parseCode',
      'parseSendCode',
      'receive',
      'send',
      'stopNativeThreads',
    ]);
  });

  it('lists peers on a SignalServer it started, and throws its PeerlaneError with a stable code', async () => {
    const api = (await import(PACKAGE)) as typeof import('../../src/index.js');
    const server = new api.SignalServer({ host: '127.0.0.1', port: 0 });
    try {
      const signal = await server.listen();
      expect(await api.listPeers({ signal })).toEqual([]);
    } finally {
      await server.close();
    }
    const code = api.formatCode({ nameplate: '42', secret: api.generateSecret() });
    expect(api.parseCode(code)).toMatchObject({ nameplate: '42' });
    expect(() => api.parseCode('42-orbit-lemonn')).toThrow(api.PeerlaneError);
    expect(() => api.parseCode('42-orbit-lemonn')).toThrow(expect.objectContaining({ code: 'BAD_CODE' }));
  });
});

describe("'peerlane/testing'", () => {
  it('starts a signal server, runs two peer processes through it and cleans up', async () => {
    const report = await runHarnessScript(await project());
    expect(report.exits).toEqual([0, 0]);
    expect(report.same).toBe(true);
    // cleanup() removed what it made.
    await expect(fs.access(report.out)).rejects.toThrow();
  });
});
