/**
 * One error class for the whole project, with stable codes.
 *
 * Codes are part of the public interface: they appear in `--json` error events,
 * tests assert them, and scripts may branch on them. Add codes; never rename them.
 * The CLI turns a code into a sentence (`hint`) and an exit status.
 */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  INTERRUPTED: 130,
  /** SIGKILL from the freeze guard (cli/freeze-guard.ts): nothing else can end a frozen process. */
  FROZEN: 137,
} as const;

/**
 * Who shows a hint, so that it names the program that printed it and fits the
 * side it is on (`peer send` and `peer receive` recover differently).
 */
export interface HintContext {
  /** The program that failed, as the line begins: `peer`, `peerlane-signal`. */
  readonly program: string;
  /** How the user runs it, if not by that name: `npm run serve:signal --` in a checkout. */
  readonly invocation?: string | undefined;
  readonly side?: 'send' | 'receive' | undefined;
  /** The swarm's commands, whose recovery is their own: a `get` run again fetches only what is missing. */
  readonly command?: 'share' | 'get' | undefined;
}

/** What the user should do next, shown after the message: a step, never a restatement. */
type Hint = string | ((context: HintContext) => string);

interface CodeInfo {
  readonly hint: Hint;
  readonly exit: number;
}

const SAME_VERSION = 'run the same peerlane version on both sides and the server; if it repeats, report it';

/** The side that printed a code makes a new one; words for each side. */
const runAgain = (side: HintContext['side']): string =>
  side === 'send' ? '`peer send` again' : side === 'receive' ? '`peer receive` again' : 'the command again';

export const ERROR_CODES = {
  USAGE: { hint: (c) => `see \`${c.invocation ?? c.program} --help\``, exit: EXIT.USAGE },
  BAD_CONFIG: {
    hint: (c) => `fix the flag or the variable named (\`${c.invocation ?? c.program} --help\` lists both)`,
    exit: EXIT.USAGE,
  },
  BAD_CODE: {
    // The wrong guess: the other cases (a typo, both sides sending) carry their own hint.
    hint: 'a code allows one try, and this one is used up: the side that printed it runs its command again for a new code',
    exit: EXIT.FAILURE,
  },
  PEER_NOT_FOUND: {
    hint: ({ side }) =>
      side === 'receive'
        ? 'no sender waits under that code: check it, or have the sender run `peer send` again for a new one'
        : 'no receiver waits under that code or name: check it, or start `peer receive` and use the code it prints (`peer list` shows listed names)',
    exit: EXIT.FAILURE,
  },
  SIGNAL_UNREACHABLE: {
    hint: 'start the signal server (`peerlane-signal`), or point at a running one with --signal host:port or SIGNALING_SERVER_ADDR',
    exit: EXIT.FAILURE,
  },
  SIGNAL_CLOSED: {
    hint: 'the signal server closed the connection; try again, or check the server log',
    exit: EXIT.FAILURE,
  },
  VERSION_MISMATCH: {
    hint: 'both peers and the signal server must run compatible peerlane versions; upgrade the older one',
    exit: EXIT.FAILURE,
  },
  BAD_MESSAGE: { hint: SAME_VERSION, exit: EXIT.FAILURE },
  MESSAGE_TOO_LARGE: {
    hint: SAME_VERSION,
    exit: EXIT.FAILURE,
  },
  LISTEN_FAILED: {
    hint: 'the address or port is taken or not ours; pick another with --host / --port',
    exit: EXIT.FAILURE,
  },
  RATE_LIMITED: {
    hint: 'too many connections or attempts from this address; wait a minute and try again',
    exit: EXIT.FAILURE,
  },
  NAME_TAKEN: {
    hint: 'another receiver on this signal server already waits under that name: pick another --name',
    exit: EXIT.FAILURE,
  },
  NAMEPLATE_EXPIRED: {
    hint: ({ side }) => `run ${runAgain(side)} for a new code, and give it to the other side sooner`,
    exit: EXIT.FAILURE,
  },
  CONSENT_REQUIRED: {
    hint: 'pass --yes to accept incoming files without asking',
    exit: EXIT.FAILURE,
  },
  DOTFILES_REFUSED: {
    hint: 'dotfiles (.env, .bashrc, .git/…) configure programs, so --yes alone never accepts them: look at them, then receive with --allow-dotfiles or answer the prompt',
    exit: EXIT.FAILURE,
  },
  SERVER_BUSY: { hint: 'the signal server is at capacity; try again shortly', exit: EXIT.FAILURE },
  RELAY_DISABLED: {
    hint: 'this signal server does not relay (RELAY_ENABLED is off); the peers need a UDP path, or a server that relays',
    exit: EXIT.FAILURE,
  },
  RELAY_BUSY: { hint: "the signal server's relay is at capacity; try again shortly", exit: EXIT.FAILURE },
  RELAY_QUOTA: {
    hint: 'this address has used its relay quota on the signal server; wait, or find a UDP path',
    exit: EXIT.FAILURE,
  },
  RELAY_TOKEN_TAKEN: {
    hint: 'a third connection presented this pairing to the relay; run both commands again with a new code',
    exit: EXIT.FAILURE,
  },
  RELAY_NO_PEER: {
    hint: 'the other peer never reached the relay; check that it can reach the signal server, then run both commands again',
    exit: EXIT.FAILURE,
  },
  CONNECT_TIMEOUT: {
    hint: 'no direct connection was established in time; check ICE_SERVERS and firewalls, or raise --timeout',
    exit: EXIT.FAILURE,
  },
  ICE_FAILED: {
    hint: 'no network path between the peers was found; give the signal server TURN_URLS and TURN_SECRET (or a turn: entry in ICE_SERVERS)',
    exit: EXIT.FAILURE,
  },
  HANDSHAKE_STALLED: {
    hint: 'a network path was found but the encrypted handshake never finished; run both commands again, or try --relay',
    exit: EXIT.FAILURE,
  },
  HANDSHAKE_FAILED: {
    hint: 'a network path was found but the DTLS or SCTP handshake over it failed, on every attempt; run both commands again, or try --relay',
    exit: EXIT.FAILURE,
  },
  RTC_STALLED: {
    hint: 'the WebRTC library stopped responding (a known libdatachannel deadlock, mostly over TURN); run both commands again: the transfer resumes',
    exit: EXIT.FROZEN,
  },
  STALLED: {
    hint: 'the other peer stayed connected but stopped the transfer; run both commands again (it resumes), or raise --stall-timeout',
    exit: EXIT.FAILURE,
  },
  // Also before any data moved (a Ctrl-C at the consent prompt): the hint must hold either way.
  PEER_LOST: {
    hint: 'run both commands again; a file that was partly received resumes',
    exit: EXIT.FAILURE,
  },
  BAD_FRAME: {
    hint: 'run both commands again; if it repeats, run the same peerlane version on both sides',
    exit: EXIT.FAILURE,
  },
  HASH_MISMATCH: {
    hint: 'nothing was kept: run both commands again',
    exit: EXIT.FAILURE,
  },
  TRANSFER_INCOMPLETE: {
    hint: 'run both commands again; a file that was partly received resumes',
    exit: EXIT.FAILURE,
  },
  REFUSED: {
    hint: ({ side }) =>
      side === 'receive'
        ? 'nothing was written; to take the files, run both commands again and answer y'
        : 'nothing was sent; once the receiver agrees, run both commands again',
    exit: EXIT.FAILURE,
  },
  NOT_VERIFIED: {
    hint: 'if the words differed, someone may be in the middle: run both commands again with a new code, and compare again',
    exit: EXIT.FAILURE,
  },
  // The swarm's tracker and member links (h-tracker).
  SWARM_AUTH_FAILED: {
    hint: 'that member holds another ticket, or something between you tampers with the signaling; check that everyone uses the same whole ticket',
    exit: EXIT.FAILURE,
  },
  REMOTE_ERROR: { hint: 'the other peer reported an error; see its output', exit: EXIT.FAILURE },
  BAD_NAME: { hint: 'nothing was written; ask the sender to rename the file', exit: EXIT.FAILURE },
  OUT_NOT_WRITABLE: {
    hint: 'choose a folder you can write to with --out, or fix its permissions',
    exit: EXIT.FAILURE,
  },
  INPUT_NOT_FOUND: { hint: 'check the path of the file to send', exit: EXIT.FAILURE },
  INPUT_UNREADABLE: { hint: 'name regular files or folders that you can read', exit: EXIT.FAILURE },
  SOURCE_CHANGED: {
    hint: 'a file to send was replaced, moved or resized after it was listed; check it, then send again',
    exit: EXIT.FAILURE,
  },
  DISK_FULL: { hint: 'free some space under --out and try again', exit: EXIT.FAILURE },
  TEXT_TOO_LARGE: {
    hint: 'send long text as a file, or through a pipe: `peer send - < notes.txt`',
    exit: EXIT.FAILURE,
  },
  MANIFEST_TOO_LARGE: {
    hint: 'too many files or too long names for one transfer: send the folders in several runs',
    exit: EXIT.FAILURE,
  },
  NOT_ONE_STREAM: {
    hint: 'receive --stdout takes exactly one file or stream; receive into --out instead',
    exit: EXIT.FAILURE,
  },
  INTERRUPTED: {
    hint: ({ program, command }) =>
      command === 'get'
        ? 'run the same `peer get` again with the same --out: it fetches only what is missing'
        : program === 'peer' && command === undefined
          ? 'run both commands again; a file that was partly received resumes'
          : 'start it again',
    exit: EXIT.INTERRUPTED,
  },
  BAD_TICKET: {
    hint: 'copy the whole ticket again from the sharer (one line, starting peerlane-swarm:), or ask for a new one',
    exit: EXIT.USAGE,
  },
  BAD_MANIFEST: {
    hint: 'the .p2p file or the swarm gave content that does not match the ticket: get the .p2p file or ticket again from the sharer',
    exit: EXIT.FAILURE,
  },
  SWARM_EMPTY: {
    hint: 'nobody shares this ticket right now: ask the sharer to share it again, then run the same command',
    exit: EXIT.FAILURE,
  },
  // ---- the daemon (`peer daemon`) and the commands that drive it over its socket
  DAEMON_RUNNING: {
    hint: 'use the running one (`peer status` lists its jobs), or stop it first with `peer daemon --stop`',
    exit: EXIT.FAILURE,
  },
  DAEMON_NOT_RUNNING: {
    hint: 'start one with `peer daemon` (it stays in the foreground: `peer daemon &`, or a user service), or leave out --daemon to run in the foreground',
    exit: EXIT.FAILURE,
  },
  DAEMON_DIR_UNSAFE: {
    hint: "the daemon's folder must belong to you and be closed to others (chmod 700), or name another with --daemon-dir",
    exit: EXIT.FAILURE,
  },
  DAEMON_LOST: {
    hint: 'the daemon closed the connection: `peer status` shows whether it still runs, and its own output says why',
    exit: EXIT.FAILURE,
  },
  JOB_NOT_FOUND: { hint: '`peer status` lists the jobs the daemon holds', exit: EXIT.FAILURE },
  INTERNAL: { hint: 'this is a bug in peerlane; please report it with the output above', exit: EXIT.FAILURE },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export class PeerlaneError extends Error {
  override readonly name = 'PeerlaneError';
  readonly code: ErrorCode;
  /** A next step for this situation, where the code's own would not be true (a typo is not a wrong guess). */
  private readonly ownHint: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options);
    this.code = code;
    this.ownHint = options?.hint;
  }

  /** The next step, as `peer` would word it. */
  get hint(): string {
    return this.hintFor({ program: 'peer' });
  }

  hintFor(context: HintContext): string {
    if (this.ownHint !== undefined) return this.ownHint;
    const hint: Hint = ERROR_CODES[this.code].hint;
    return typeof hint === 'string' ? hint : hint(context);
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

/** Wrap anything thrown into a PeerlaneError, keeping the original as `cause`. */
export function toPeerlaneError(err: unknown, fallback: ErrorCode = 'INTERNAL'): PeerlaneError {
  if (err instanceof PeerlaneError) return err;
  const message = err instanceof Error ? err.message : String(err);
  // Node's system errors carry an errno name; a browser's errors have none.
  const errno = (err as { code?: unknown } | undefined)?.code;
  if (errno === 'ENOSPC') return new PeerlaneError('DISK_FULL', message, { cause: err });
  return new PeerlaneError(fallback, message, { cause: err });
}

/** `text` ending in exactly one full stop (or its own ? or !): messages and hints end either way. */
function sentence(text: string): string {
  const trimmed = text.trim();
  return /[.?!]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** The one line a failure gets: `peer: CODE: what happened. Next: what to do.` */
export function errorLine(err: PeerlaneError, context: HintContext): string {
  return `${context.program}: ${err.code}: ${sentence(err.message)} Next: ${sentence(err.hintFor(context))}`;
}
