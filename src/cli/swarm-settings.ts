/**
 * The settings of `peer share` and `peer get` (the swarm), in the same table
 * form as the rest of peer-settings.ts, which lists them under their commands.
 */
import type { Setting } from '../config.js';
import { flagOff, optionalNumber, optionalString, parseDuration, requiredString } from '../config.js';
import { PeerlaneError } from '../core/errors.js';

/** A share or a seeding get runs a month at most unattended: longer is forgotten, not intended. */
const MAX_SEED_FOR_S = 30 * 86_400;

const parseSeedFor = (raw: unknown): number | undefined =>
  raw === undefined || raw === ''
    ? undefined
    : parseDuration(raw, '--seed-for / PEER_SEED_FOR', MAX_SEED_FOR_S);

function positiveCount(raw: unknown, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new PeerlaneError('BAD_CONFIG', `${name} must be a whole number from 1`);
  return n;
}

export const SEED_FOR_SETTING = {
  flag: 'seed-for',
  env: 'PEER_SEED_FOR',
  default: '',
  describe: 'Stop sharing after this long, e.g. 90s, 10m, 2h; empty: until Ctrl-C',
  parse: parseSeedFor,
} as const satisfies Setting;

export const PEER_SHARE_SETTINGS = [
  {
    flag: 'ticket',
    describe: "Serve under another share's ticket, as one more sharer of the same files (and --chunk-size)",
    parse: optionalString,
  },
  {
    flag: 'p2p',
    describe: 'Also write a .p2p file: the ticket and the manifest, for `peer get FILE`',
    parse: optionalString,
  },
  SEED_FOR_SETTING,
  {
    flag: 'max-uploads',
    type: 'number',
    describe: 'Stop once this many copies of the content have been uploaded',
    parse: (raw) => positiveCount(raw, '--max-uploads'),
  },
  {
    flag: 'chunk-size',
    type: 'number',
    describe:
      'Bytes per verified chunk: a power of two from 16384 to 8388608 [default: 1 MiB, more for huge shares]',
    parse: optionalNumber,
  },
] as const satisfies readonly Setting[];

export const PEER_GET_SETTINGS = [
  { flag: 'out', default: '.', describe: 'Folder to write the files into', parse: requiredString },
  flagOff('overwrite', 'Replace existing files of the same name'),
  flagOff('seed', 'Keep serving the content to others once complete (until Ctrl-C or --seed-for)'),
  SEED_FOR_SETTING,
  {
    flag: 'max-peers',
    type: 'number',
    describe: 'Members to fetch from and trade with at once',
    parse: (raw) => positiveCount(raw, '--max-peers'),
  },
] as const satisfies readonly Setting[];
