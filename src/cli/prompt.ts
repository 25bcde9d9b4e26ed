import readline from 'node:readline';
import { PeerlaneError } from '../core/errors.js';

export interface PromptStreams {
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  output: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface AskOptions {
  /**
   * Words Tab completes (the code words), in a terminal. The line is then read
   * in readline's terminal mode, where Ctrl-C reaches readline, not the
   * process: it rejects with INTERRUPTED.
   */
  completions?: readonly string[];
}

/** Complete the word under the cursor (after the last `-` or space) from `words`. */
function completeWord(words: readonly string[], line: string): [string[], string] {
  const partial = /[^-\s]*$/.exec(line)?.[0] ?? '';
  if (partial === '') return [[], partial];
  const lower = partial.toLowerCase();
  return [words.filter((w) => w.startsWith(lower)), partial];
}

/** Ask one question and resolve with the answer line ('' on end of input). */
export function askLine(
  question: string,
  { input, output }: PromptStreams,
  options: AskOptions = {},
): Promise<string> {
  const words = options.completions;
  const terminal = words !== undefined && input.isTTY === true && output.isTTY === true;
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({
      input,
      output,
      terminal,
      ...(terminal && words !== undefined
        ? { completer: (line: string) => completeWord(words, line), tabSize: 4 }
        : {}),
    });
    let answered = false;
    if (terminal) {
      rl.on('SIGINT', () => {
        answered = true;
        rl.close();
        output.write('\n');
        reject(new PeerlaneError('INTERRUPTED', 'stopped by Ctrl-C at the prompt'));
      });
      rl.setPrompt(question);
      rl.prompt();
    } else {
      output.write(question);
    }
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(line.trim());
    });
    rl.once('close', () => {
      if (!answered) resolve('');
    });
  });
}
