/**
 * A `peer` process in a real pseudo-terminal (util-linux `script`), as a
 * person meets it: read the screen, answer prompts, see the exit status.
 */
import { spawn } from 'node:child_process';
import { entryPoint } from '../project.js';

export interface TerminalPeer {
  /** The first match of `pattern` on the screen; rejects after 15 s. */
  until(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Type a line. */
  answer(text: string): void;
  /** Type keys as they are, without Enter: `\t` is Tab, `\x03` is Ctrl-C. */
  type(keys: string): void;
  exit: Promise<number | null>;
  screen(): string;
  kill(): void;
}

export interface TerminalOptions {
  /** The terminal's width (its height is 50 rows); unset: whatever the pty gets. */
  columns?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export function peerInTerminal(args: readonly string[], options: TerminalOptions = {}): TerminalPeer {
  const peer = entryPoint('peer');
  let command = [process.execPath, peer, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  // The pty's size is set from inside it, as a terminal emulator would at start.
  if (options.columns !== undefined) command = `stty cols ${options.columns} rows 50 && exec ${command}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    ...(options.env !== undefined ? { env: { ...process.env, ...options.env } } : {}),
  });
  let screen = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    screen += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const until = (pattern: RegExp): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${pattern} on screen:\n${screen}`)), 15_000);
      const check = (): void => {
        const m = screen.match(pattern);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else waiters.push(check);
      };
      check();
    });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    until,
    answer: (text: string) => child.stdin.write(`${text}\n`),
    type: (keys: string) => child.stdin.write(keys),
    exit,
    screen: () => screen,
    kill: () => child.kill('SIGKILL'),
  };
}
