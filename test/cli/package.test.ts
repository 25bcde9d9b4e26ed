/**
 * peerlane as a newcomer installs it: `npm pack`, then `npm install -g` of
 * the tarball into a temporary prefix, then the installed `peer` and
 * `peerlane-signal` run from a folder outside the checkout, down to a
 * transfer between them; and the library, imported by name from a project
 * (the README's example, run and typechecked). Also: the systemd units in the
 * README's VPS guide parse (`systemd-analyze verify`), with the installed
 * binary in ExecStart.
 */
import { execFile } from 'node:child_process';
import fs, { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot, packageVersion } from '../../src/project.js';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';
import { Harness, LOOPBACK, peerArgsFor } from '../../src/testing/harness.js';
import { runHarnessScript, runReadmeExample, typecheckScripts, userProject } from '../api/user-project.js';

const run = promisify(execFile);
const h = new Harness();
/** Where the tarball was installed; its bin/ holds what package.json's bin names. */
let prefix: string;
/** A folder with no package.json above it: nothing of the checkout is in reach. */
let elsewhere: string;
/** Why the install could not happen, if the registry was out of reach. */
let skipped: string | undefined;

const NPM_QUIET = ['--no-audit', '--no-fund', '--loglevel=error'];

beforeAll(async () => {
  const work = await h.tempDir('peerlane-pkg-');
  prefix = path.join(work, 'prefix');
  elsewhere = path.join(work, 'elsewhere');
  await fs.mkdir(elsewhere);
  // dist/ is built already (`npm test` builds first): pack it as it is.
  await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work, ...NPM_QUIET], {
    cwd: packageRoot(),
  });
  const tarball = path.join(work, `peerlane-${packageVersion()}.tgz`);
  const install = (cache: string) =>
    run('npm', ['install', '-g', '--prefix', prefix, cache, ...NPM_QUIET, tarball], {
      cwd: elsewhere,
      timeout: 240_000,
    });
  try {
    // From npm's cache where it holds everything; else the registry fills the gaps.
    await install('--offline').catch(() => install('--prefer-offline'));
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? err);
    if (!/ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|network/i.test(text)) throw err;
    skipped = `npm could not reach the registry for the dependencies: ${text.split('\n')[0]}`;
    console.warn(`package.test.ts: skipped, ${skipped}`);
  }
}, 300_000);
afterAll(() => h.cleanup());

const bin = (name: 'peer' | 'peerlane-signal'): string => path.join(prefix, 'bin', name);

async function installed(name: 'peer' | 'peerlane-signal', args: string[]): Promise<string> {
  const { stdout } = await run(bin(name), args, { cwd: elsewhere });
  return stdout;
}

describe('the installed package', () => {
  it('gives peer and peerlane-signal, which run outside the checkout', async (ctx) => {
    if (skipped) ctx.skip(skipped);
    expect((await installed('peer', ['--version'])).trim()).toBe(packageVersion());
    expect(await installed('peer', ['--help'])).toMatch(/peer receive .*\n[\s\S]*peer send/);
    expect((await installed('peerlane-signal', ['--version'])).trim()).toBe(packageVersion());
    const help = await installed('peerlane-signal', ['--help']);
    expect(help).toContain('peerlane-signal [options]');
    expect(help).toContain('--port');
  });

  it('moves a file from one installed peer to another through the installed signal server', async (ctx) => {
    if (skipped) ctx.skip(skipped);
    const signal = h.spawnCommand(bin('peerlane-signal'), ['--host', LOOPBACK, '--port', '0', '--json'], {
      cwd: elsewhere,
    });
    const { host, port } = await signal.waitFor('listening');
    const file = path.join(await h.tempDir(), 'payload.bin');
    await writeRandomFile(file, 3 * 1024 * 1024);
    const out = await h.tempDir();
    const peerArgs = [...peerArgsFor(host, port), '--json'];
    const rx = h.spawnCommand(bin('peer'), ['receive', '--out', out, '--yes', ...peerArgs], {
      cwd: elsewhere,
    });
    const { code } = await rx.waitFor('ready');
    const tx = h.spawnCommand(bin('peer'), ['send', file, '--to', code, ...peerArgs], { cwd: elsewhere });
    const [rxExit, txExit] = await Promise.all([rx.exit(), tx.exit()]);
    expect(txExit.code, tx.stderr).toBe(0);
    expect(rxExit.code, rx.stderr).toBe(0);
    expect(await sha256File(path.join(out, 'payload.bin'))).toBe(await sha256File(file));
  }, 60_000);
});

describe('the installed package as a library', () => {
  it("runs the README example in a project that imports 'peerlane' by name, and typechecks it", async (ctx) => {
    if (skipped) ctx.skip(skipped);
    const dir = await h.tempDir('peerlane-user-');
    await userProject(dir, path.join(prefix, 'lib', 'node_modules', 'peerlane'));
    const { stdout, sent, received, receivedPath } = await runReadmeExample(dir);
    expect(received).toBe(sent);
    expect(stdout).toBe(`${receivedPath}: SHA-256 ${sent}\n`);
    // The declarations ship in the tarball (package.json's `files`) where `exports` says.
    const { ok, output } = await typecheckScripts(dir, ['example.mjs']);
    expect(output).toBe('');
    expect(ok).toBe(true);
  }, 60_000);

  it("gives 'peerlane/testing' with its dependencies alone (no vitest): two installed peers through it", async (ctx) => {
    if (skipped) ctx.skip(skipped);
    const dir = await h.tempDir('peerlane-user-');
    await userProject(dir, path.join(prefix, 'lib', 'node_modules', 'peerlane'));
    const report = await runHarnessScript(dir);
    expect(report.exits).toEqual([0, 0]);
    expect(report.same).toBe(true);
  }, 60_000);
});

/** The README's ```ini blocks that start with `# /etc/systemd/system/<unit>`. */
async function unitsInReadme(): Promise<Map<string, string>> {
  const readme = await fs.readFile(path.join(packageRoot(), 'README.md'), 'utf8');
  const units = new Map<string, string>();
  for (const m of readme.matchAll(/```ini\n# \/etc\/systemd\/system\/([\w.-]+\.service)\n([\s\S]*?)```/g)) {
    units.set(m[1] ?? '', m[2] ?? '');
  }
  return units;
}

async function executable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

describe('the systemd units of the VPS guide', () => {
  it('parse with systemd-analyze verify', async (ctx) => {
    if (!(await executable('/usr/bin/systemd-analyze'))) ctx.skip('systemd-analyze is not installed here');
    const units = await unitsInReadme();
    expect([...units.keys()].sort()).toEqual(['coturn.service', 'peerlane-signal.service']);
    const dir = await h.tempDir('peerlane-units-');
    const files: string[] = [];
    for (const [name, text] of units) {
      // verify checks that ExecStart exists: point it at what was just installed.
      const unit = text.replace(
        '/usr/local/bin/peerlane-signal',
        skipped ? process.execPath : bin('peerlane-signal'),
      );
      if (name === 'coturn.service' && !(await executable('/usr/bin/turnserver'))) {
        console.warn('package.test.ts: coturn.service not verified, coturn is not installed here');
        continue;
      }
      const file = path.join(dir, name);
      await fs.writeFile(file, unit);
      files.push(file);
    }
    const result = await run('systemd-analyze', ['verify', ...files]).then(
      (r) => ({ ok: true, output: r.stdout + r.stderr }),
      (e: { stdout: string; stderr: string }) => ({ ok: false, output: e.stdout + e.stderr }),
    );
    // Warnings about our files (an unknown key, say) count too; other units' noise does not.
    const ours = result.output.split('\n').filter((l) => files.some((f) => l.includes(path.basename(f))));
    expect(result.ok, result.output).toBe(true);
    expect(ours, result.output).toEqual([]);
  });
});
