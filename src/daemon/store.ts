/**
 * The daemon's jobs on disk (`jobs.json` in the state folder, paths.ts): what
 * each job was started with, so that a daemon started again resumes them. A
 * share keeps its swarm secret here, so it serves the same ticket after a
 * restart; the file is therefore 0600 in a 0700 folder. Written whole, to a
 * temporary file renamed over the old one: a crash leaves the old list or
 * the new, never half of one.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { PeerlaneError } from '../core/errors.js';
import { parseJsonObject } from '../core/json.js';
import { absolutePath, bad, MAX_PATH_BYTES, object, str } from './fields.js';
import { type GetSpec, MAX_JOBS, parseGetSpec, parseShareSpec, type ShareSpec } from './protocol.js';

/** The file's own version, apart from the socket protocol's: it outlives daemons. */
const STORE_VERSION = 1;
/** A swarm secret is 128 bits, kept as hex. */
const SECRET_HEX = /^[0-9a-f]{32}$/;

export type StoredJob =
  | { id: string; kind: 'share'; paths: string[]; options: ShareSpec; secret: string }
  | { id: string; kind: 'get'; source: string; out: string; options: GetSpec };

function parseStoredJob(raw: unknown): StoredJob {
  const obj = object(raw, 'jobs');
  const id = str(obj, 'id', 64);
  if (obj.kind === 'share') {
    const secret = str(obj, 'secret', 32);
    if (!SECRET_HEX.test(secret)) throw bad('field "secret" is not 128 bits of hex');
    const paths = Array.isArray(obj.paths) ? obj.paths : [];
    return {
      id,
      kind: 'share',
      paths: paths.map((p: unknown) => absolutePath({ path: p }, 'path')),
      options: parseShareSpec(obj.options),
      secret,
    };
  }
  if (obj.kind !== 'get') throw bad('field "kind" must be share or get');
  return {
    id,
    kind: 'get',
    source: str(obj, 'source', MAX_PATH_BYTES),
    out: absolutePath(obj, 'out'),
    options: parseGetSpec(obj.options),
  };
}

export class JobStore {
  readonly file: string;
  /** Writes one after another: two renames racing could leave the older list last. */
  private writing: Promise<void> = Promise.resolve();

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'jobs.json');
  }

  /** The jobs saved last; none if there is no file. A damaged file stops the daemon rather than losing them. */
  async load(): Promise<StoredJob[]> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    try {
      const obj = parseJsonObject(text, 'BAD_CONFIG', this.file);
      if (obj.version !== STORE_VERSION)
        throw bad(`version ${JSON.stringify(obj.version)} is not ${STORE_VERSION}`);
      const jobs = obj.jobs;
      if (!Array.isArray(jobs) || jobs.length > MAX_JOBS) throw bad(`"jobs" must list at most ${MAX_JOBS}`);
      return jobs.map(parseStoredJob);
    } catch (err) {
      throw new PeerlaneError('BAD_CONFIG', `${this.file} is damaged: ${(err as Error).message}`, {
        cause: err,
        hint: `move ${this.file} aside to start the daemon without its jobs`,
      });
    }
  }

  /** Replace the saved list with `jobs`; resolves once it is on disk. */
  save(jobs: readonly StoredJob[]): Promise<void> {
    const text = `${JSON.stringify({ version: STORE_VERSION, jobs }, null, 2)}\n`;
    const write = async (): Promise<void> => {
      const temp = `${this.file}.${process.pid}.tmp`;
      await fs.writeFile(temp, text, { mode: 0o600 });
      await fs.rename(temp, this.file);
    };
    this.writing = this.writing.then(write, write);
    return this.writing;
  }
}
