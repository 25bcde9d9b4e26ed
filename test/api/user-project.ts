/**
 * A user's project, for tests of peerlane as a library: a folder whose
 * node_modules/peerlane is a given copy of the package (this checkout, or one
 * installed from the tarball), so scripts there import it by name through
 * package.json's `exports`, as any program built on peerlane does.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/project.js';
import { sha256File, writeRandomFile } from '../../src/testing/files.js';

const run = promisify(execFile);

/** The README's example of programmatic use: its one ```js block that imports 'peerlane'. */
export async function readmeExample(): Promise<string> {
  const readme = await fs.readFile(path.join(packageRoot(), 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)]
    .map((m) => m[1] ?? '')
    .filter((code) => code.includes("from 'peerlane'"));
  if (blocks.length !== 1 || blocks[0] === undefined)
    throw new Error(`README.md: expected one js block importing 'peerlane', found ${blocks.length}`);
  return blocks[0];
}

/** Make `dir` a project with `pkg` as node_modules/peerlane (a link, as `npm link` makes). */
export async function userProject(dir: string, pkg: string): Promise<void> {
  await fs.mkdir(path.join(dir, 'node_modules'), { recursive: true });
  await fs.symlink(pkg, path.join(dir, 'node_modules', 'peerlane'), 'dir');
  const manifest = { name: 'a-peerlane-user', private: true, type: 'module' };
  await fs.writeFile(path.join(dir, 'package.json'), JSON.stringify(manifest));
}

/**
 * Run `file` (an ES module in `dir`) with node. It must exit by itself, with
 * status 0: a program that hangs after its work is killed and fails here.
 */
async function runScript(dir: string, file: string, timeoutMs = 30_000): Promise<string> {
  const { stdout } = await run(process.execPath, [file], {
    cwd: dir,
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  return stdout;
}

/** The README example's own bytes: `notes.txt` in the project, as the example sends it. */
const NOTES_BYTES = 300_000;

/** Write the README example and its notes.txt into `dir`, run it, and report what it printed and moved. */
export async function runReadmeExample(
  dir: string,
): Promise<{ stdout: string; sent: string; received: string; receivedPath: string }> {
  await writeRandomFile(path.join(dir, 'notes.txt'), NOTES_BYTES);
  await fs.writeFile(path.join(dir, 'example.mjs'), await readmeExample());
  const stdout = await runScript(dir, 'example.mjs');
  const receivedPath = path.join(dir, 'dl', 'notes.txt');
  return {
    stdout,
    sent: await sha256File(path.join(dir, 'notes.txt')),
    received: await sha256File(receivedPath),
    receivedPath,
  };
}

/**
 * Typecheck `files` in `dir` as a strict TypeScript user would check their
 * JavaScript (checkJs), with peerlane's types found through its `exports`.
 */
export async function typecheckScripts(
  dir: string,
  files: string[],
): Promise<{ ok: boolean; output: string }> {
  const tsc = path.join(packageRoot(), 'node_modules', '.bin', 'tsc');
  const flags = ['--noEmit', '--allowJs', '--checkJs', '--strict', '--skipLibCheck'];
  const target = ['--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
  const nodeTypes = ['--types', 'node', '--typeRoots', path.join(packageRoot(), 'node_modules', '@types')];
  return run(tsc, [...flags, ...target, ...nodeTypes, ...files], { cwd: dir }).then(
    (r) => ({ ok: true, output: r.stdout + r.stderr }),
    (e: { stdout: string; stderr: string }) => ({ ok: false, output: e.stdout + e.stderr }),
  );
}

/** What a user's test does with 'peerlane/testing': a signal server, two `peer` processes, a file across, clean-up. */
const HARNESS_SCRIPT = `
import path from 'node:path';
import { Harness, sha256File, writeRandomFile } from 'peerlane/testing';

const h = new Harness();
try {
  const server = await h.signalServer();
  const file = path.join(await h.tempDir(), 'a.bin');
  await writeRandomFile(file, 200_000);
  const out = await h.tempDir();
  const rx = h.peer(['receive', '--out', out, '--yes', ...server.peerArgs]);
  const { code } = await rx.waitFor('ready');
  const tx = h.peer(['send', file, '--to', code, ...server.peerArgs]);
  const exits = await Promise.all([rx.exit(), tx.exit()]);
  const same = (await sha256File(file)) === (await sha256File(path.join(out, 'a.bin')));
  console.log(JSON.stringify({ exits: exits.map((e) => e.code), same, out }));
} finally {
  await h.cleanup();
}
`;

export interface HarnessReport {
  /** The two peers' exit statuses. */
  exits: (number | null)[];
  /** The file arrived with the sender's SHA-256. */
  same: boolean;
  /** The receiver's folder, which cleanup() should have removed. */
  out: string;
}

/** Run HARNESS_SCRIPT in the project `dir`. */
export async function runHarnessScript(dir: string): Promise<HarnessReport> {
  await fs.writeFile(path.join(dir, 'harness.mjs'), HARNESS_SCRIPT);
  return JSON.parse(await runScript(dir, 'harness.mjs')) as HarnessReport;
}
