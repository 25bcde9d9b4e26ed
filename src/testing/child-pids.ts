/**
 * The processes a process started (Linux /proc): a test finds a peer's
 * attempt child (peer --isolate, session/attempt-child.ts) to stop it.
 */
import fs from 'node:fs/promises';

/** The live children of `pid`, oldest first; none once it has exited. */
export async function childPids(pid: number): Promise<number[]> {
  // Node forks from its main thread, whose task id is the process id.
  const text = await fs.readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text
    .split(' ')
    .filter((s) => s.trim() !== '')
    .map(Number);
}
