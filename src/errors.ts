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

interface CodeInfo {
  /** What the user should do next; shown after the message. */
  readonly hint: string;
  readonly exit: number;
}

export const ERROR_CODES = {
  USAGE: { hint: 'see `peer --help`', exit: EXIT.USAGE },
  BAD_CONFIG: { hint: 'check the flag or the variable in .env', exit: EXIT.USAGE },
  BAD_CODE: {
    hint: 'the code was wrong, and a code allows one try: start `peer receive` again and use its new code',
    exit: EXIT.FAILURE,
  },
  PEER_NOT_FOUND: {
    hint: 'no receiver is waiting with that code or name; start `peer receive` and use the code it prints (`peer list` shows listed names)',
    exit: EXIT.FAILURE,
  },
  SIGNAL_UNREACHABLE: {
    hint: 'is the signal server running there? set SIGNALING_SERVER_ADDR / SIGNALING_SERVER_PORT or pass --signal host:port',
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
  BAD_MESSAGE: { hint: 'the other side sent a malformed message; upgrade or report it', exit: EXIT.FAILURE },
  MESSAGE_TOO_LARGE: { hint: 'a message exceeded the protocol limit', exit: EXIT.FAILURE },
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
  NAMEPLATE_EXPIRED: { hint: 'the code expired; run `peer receive` again for a new one', exit: EXIT.FAILURE },
  CONSENT_REQUIRED: {
    hint: 'no terminal to ask in: pass --yes to accept incoming files without asking',
    exit: EXIT.FAILURE,
  },
  DOTFILES_REFUSED: {
    hint: 'dotfiles (.env, .bashrc, .git/…) configure programs, so --yes alone never accepts them: look at them, then receive with --allow-dotfiles or answer the prompt',
    exit: EXIT.FAILURE,
  },
  SERVER_BUSY: { hint: 'the signal server is at capacity; try again shortly', exit: EXIT.FAILURE },
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
  PEER_LOST: { hint: 'the other peer went away mid-transfer; run both commands again', exit: EXIT.FAILURE },
  BAD_FRAME: { hint: 'the other peer sent a malformed frame; the transfer was aborted', exit: EXIT.FAILURE },
  HASH_MISMATCH: {
    hint: 'the received data does not match the sender; nothing was kept, run the transfer again',
    exit: EXIT.FAILURE,
  },
  TRANSFER_INCOMPLETE: {
    hint: 'the transfer stopped before every file was verified; run it again',
    exit: EXIT.FAILURE,
  },
  REFUSED: { hint: 'the receiver declined the files', exit: EXIT.FAILURE },
  REMOTE_ERROR: { hint: 'the other peer reported an error; see its output', exit: EXIT.FAILURE },
  BAD_NAME: { hint: 'the sender offered a file name that is not safe to write', exit: EXIT.FAILURE },
  OUT_NOT_WRITABLE: {
    hint: 'choose a folder you can write to with --out, or fix its permissions',
    exit: EXIT.FAILURE,
  },
  INPUT_NOT_FOUND: { hint: 'check the path of the file to send', exit: EXIT.FAILURE },
  INPUT_UNREADABLE: { hint: 'only regular, readable files can be sent', exit: EXIT.FAILURE },
  SOURCE_CHANGED: {
    hint: 'a file to send was replaced, moved or resized after it was listed; check it, then send again',
    exit: EXIT.FAILURE,
  },
  DISK_FULL: { hint: 'free some space under --out and try again', exit: EXIT.FAILURE },
  TEXT_TOO_LARGE: {
    hint: 'send long text as a file (or through a pipe: `echo … | peer send -`)',
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
  INTERRUPTED: { hint: 'interrupted', exit: EXIT.INTERRUPTED },
  INTERNAL: { hint: 'this is a bug in peerlane; please report it with the output above', exit: EXIT.FAILURE },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

export class PeerlaneError extends Error {
  override readonly name = 'PeerlaneError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  get hint(): string {
    return ERROR_CODES[this.code].hint;
  }

  get exitCode(): number {
    return ERROR_CODES[this.code].exit;
  }
}

/** Wrap anything thrown into a PeerlaneError, keeping the original as `cause`. */
export function toPeerlaneError(err: unknown, fallback: ErrorCode = 'INTERNAL'): PeerlaneError {
  if (err instanceof PeerlaneError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ENOSPC') return new PeerlaneError('DISK_FULL', message, { cause: err });
  return new PeerlaneError(fallback, message, { cause: err });
}
