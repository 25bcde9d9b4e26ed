/**
 * A getter's chunks on disk, under --out, through the same safe-receiving
 * code as `peer receive` (transfer/safe-names.ts): every name checked before
 * anything is written, folders made one component at a time and never
 * through a symlink, a free name chosen unless --overwrite, each file written
 * as `name.part` and moved into place once all its chunks are in.
 *
 * Resume: beside the files, `.peerlane-swarm-<root>.json` records the names
 * chosen, and `.peerlane-swarm-<root>.have` the bitfield of chunks written,
 * one byte updated after each chunk's data is written. A run killed with
 * kill -9 leaves at most the chunks being written unrecorded; a rerun with the
 * same ticket into the same --out fetches only what is not recorded. Both
 * files go once every file is in place.
 */
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseJsonObject } from '../core/json.js';
import { Bitfield } from '../core/swarm/bitfield.js';
import type { ChunkStore } from '../core/swarm/engine.js';
import type { SwarmManifest } from '../core/swarm/manifest.js';
import { ChunkLayout } from '../core/swarm/manifest.js';
import { newMode } from '../transfer/folders.js';
import { writeError, writeFully } from '../transfer/incoming-file.js';
import { prepareOutDir } from '../transfer/out-dir.js';
import {
  checkRelPath,
  freeTarget,
  openDirs,
  openPart,
  PART_SUFFIX,
  publish,
  splitRelPath,
} from '../transfer/safe-names.js';
import { readChunk } from './content.js';

export interface OutStoreOptions {
  outDir: string;
  manifest: SwarmManifest;
  root: string;
  overwrite: boolean;
}

export interface OutStore extends ChunkStore {
  /** Chunks on disk (resumed from an earlier run, then each one written). */
  readonly have: Bitfield;
  /** Where each file is now: its `.part` until complete, then its final path. */
  readonly paths: string[];
  /** Every file is in place. */
  readonly complete: boolean;
}

/** The resume files' common stem: the root's first 16 hex digits tell swarms apart in one --out. */
function stateStem(outDir: string, root: string): string {
  return path.join(path.resolve(outDir), `.peerlane-swarm-${root.slice(0, 16)}`);
}

const WRITE_FLAGS = constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0);
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);

/** Names chosen by an earlier run for this root, if it left any. */
async function readState(stem: string, root: string, files: number): Promise<string[] | undefined> {
  let text: string;
  try {
    text = await fs.readFile(`${stem}.json`, 'utf8');
  } catch {
    return undefined;
  }
  const obj = parseJsonObject(text, 'BAD_MANIFEST', 'swarm resume state');
  const targets = obj.targets;
  if (obj.root !== root || !Array.isArray(targets) || targets.length !== files) return undefined;
  return targets.map((t: unknown) => checkRelPath(typeof t === 'string' ? t : ''));
}

/** A free name and an empty `.part` for every file, as `peer receive` picks them. */
async function placeFiles(outDir: string, manifest: SwarmManifest, overwrite: boolean): Promise<string[]> {
  const taken = new Set<string>();
  const targets: string[] = [];
  for (const f of manifest.files) {
    const dir = await openDirs(outDir, splitRelPath(checkRelPath(f.name)).dirs, f.name);
    try {
      const target = await freeTarget(outDir, f.name, taken, overwrite, dir);
      await (await openPart(target + PART_SUFFIX, dir)).close();
      targets.push(path.relative(outDir, target).split(path.sep).join('/'));
    } finally {
      await dir.handle.close();
    }
  }
  return targets;
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Open (or resume) the store for `manifest` under `outDir`. Throws BAD_NAME before writing anything for a bad name. */
export async function openOutStore(o: OutStoreOptions): Promise<OutStore> {
  for (const f of o.manifest.files) checkRelPath(f.name);
  await prepareOutDir(o.outDir);
  const outDir = path.resolve(o.outDir);
  const stem = stateStem(outDir, o.root);
  const layout = new ChunkLayout(o.manifest);
  let targets = await readState(stem, o.root, o.manifest.files.length);
  let have = new Bitfield(layout.count);
  if (targets !== undefined) {
    have = new Bitfield(layout.count, await fs.readFile(`${stem}.have`).catch(() => new Uint8Array(0)));
  } else {
    targets = await placeFiles(outDir, o.manifest, o.overwrite);
    await fs.writeFile(`${stem}.json`, JSON.stringify({ root: o.root, targets }), { mode: 0o600 });
    await fs.writeFile(`${stem}.have`, have.bits, { mode: 0o600 });
  }
  const store = new DiskStore(outDir, stem, o, layout, targets, have);
  await store.settle();
  return store;
}

class DiskStore implements OutStore {
  readonly paths: string[];
  private readonly left: number[];
  private readonly taken = new Set<string>();
  private stateWrites: Promise<unknown> = Promise.resolve();

  constructor(
    outDir: string,
    private readonly stem: string,
    private readonly o: OutStoreOptions,
    private readonly layout: ChunkLayout,
    targets: string[],
    readonly have: Bitfield,
  ) {
    this.paths = targets.map((t) => path.join(outDir, ...t.split('/')) + PART_SUFFIX);
    this.left = o.manifest.files.map((_, file) => {
      const [first, end] = layout.chunksOfFile(file);
      let n = 0;
      for (let i = first; i < end; i++) if (!have.has(i)) n++;
      return n;
    });
  }

  get complete(): boolean {
    return this.left.every((n) => n < 0);
  }

  /** After opening: re-create lost `.part`s, and put in place files an earlier run completed but did not move. */
  async settle(): Promise<void> {
    for (let file = 0; file < this.paths.length; file++) {
      const part = this.paths[file] ?? '';
      const partThere = await exists(part);
      if ((this.left[file] ?? 0) > 0 && !partThere) {
        // Lost since: start that file again.
        const [first, end] = this.layout.chunksOfFile(file);
        for (let i = first; i < end; i++) this.have.clear(i);
        this.left[file] = end - first;
        await (await openPart(part)).close();
      } else if (this.left[file] === 0 && !partThere) {
        this.left[file] = -1;
        this.paths[file] = part.slice(0, -PART_SUFFIX.length);
      } else if (this.left[file] === 0) await this.finishFile(file);
    }
    await this.maybeDone();
  }

  async read(index: number): Promise<Uint8Array> {
    const { file, offset, length } = this.layout.place(index);
    return readChunk(await this.openForRead(file), offset, length);
  }

  /** The file's current path; once more if it moved into place (`.part` to final) meanwhile. */
  private async openForRead(file: number): Promise<fs.FileHandle> {
    const at = this.paths[file] ?? '';
    try {
      return await fs.open(at, READ_FLAGS);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || this.paths[file] === at) throw err;
      return fs.open(this.paths[file] ?? '', READ_FLAGS);
    }
  }

  async write(index: number, data: Uint8Array): Promise<void> {
    const { file, offset } = this.layout.place(index);
    try {
      const at = this.paths[file] ?? '';
      const handle = await fs.open(at, WRITE_FLAGS);
      try {
        await writeFully(handle, data, offset, at);
      } finally {
        await handle.close();
      }
      await this.record(index);
    } catch (err) {
      throw writeError(err);
    }
    this.left[file] = (this.left[file] ?? 1) - 1;
    if (this.left[file] === 0) await this.finishFile(file);
    await this.maybeDone();
  }

  /** Persist chunk `index`'s bit: one byte of the `.have` file, writes kept in order. */
  private record(index: number): Promise<void> {
    const mark = new Bitfield(this.have.size, this.have.bits);
    mark.set(index);
    const at = index >> 3;
    const byte = mark.bits.subarray(at, at + 1);
    const done = this.stateWrites.then(async () => {
      const handle = await fs.open(`${this.stem}.have`, WRITE_FLAGS);
      try {
        await handle.write(byte, 0, 1, at);
      } finally {
        await handle.close();
      }
    });
    this.stateWrites = done.catch(() => {});
    return done;
  }

  private async finishFile(file: number): Promise<void> {
    const entry = this.o.manifest.files[file];
    const part = this.paths[file] ?? '';
    if (entry === undefined) return;
    const final = await publish(
      part,
      part.slice(0, -PART_SUFFIX.length),
      entry.name,
      this.taken,
      this.o.overwrite,
    );
    this.paths[file] = final;
    this.left[file] = -1;
    await fs.chmod(final, newMode(entry.mode, 0o666));
  }

  private async maybeDone(): Promise<void> {
    if (!this.complete) return;
    await this.stateWrites;
    await fs.rm(`${this.stem}.json`, { force: true });
    await fs.rm(`${this.stem}.have`, { force: true });
  }
}
