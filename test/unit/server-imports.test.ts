/**
 * The signal server's modules import each other without a cycle, type imports
 * included: state, directory and envelope once did (state ⇄ directory ⇄
 * envelope), which is what server/types.ts is for.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SERVER = path.resolve(import.meta.dirname, '../../src/server');

/** Each module of `dir` and the modules of `dir` it imports (`from './x.js'`, type or not). */
function importGraph(dir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const source = fs.readFileSync(path.join(dir, file), 'utf8');
    const local = [...source.matchAll(/from '\.\/([\w-]+)\.js'/g)].map((m) => `${m[1]}.ts`);
    graph.set(file, local);
  }
  return graph;
}

/** One cycle of `graph` as the path around it (first module repeated last), or undefined. */
function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const done = new Set<string>();
  const visit = (node: string, trail: string[]): string[] | undefined => {
    const at = trail.indexOf(node);
    if (at >= 0) return [...trail.slice(at), node];
    if (done.has(node)) return undefined;
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next, [...trail, node]);
      if (cycle !== undefined) return cycle;
    }
    done.add(node);
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node, []);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

describe('src/server imports', () => {
  it('finds a cycle where there is one (the check itself works)', () => {
    const graph = new Map([
      ['state.ts', ['directory.ts']],
      ['directory.ts', ['types.ts', 'state.ts']],
      ['types.ts', []],
    ]);
    expect(findCycle(graph)).toEqual(['state.ts', 'directory.ts', 'state.ts']);
    expect(
      findCycle(
        new Map([
          ['a.ts', ['b.ts']],
          ['b.ts', []],
        ]),
      ),
    ).toBeUndefined();
  });

  it('has no import cycle', () => {
    const graph = importGraph(SERVER);
    expect(graph.get('state.ts')).toContain('directory.ts'); // it did read the imports
    expect(findCycle(graph)).toBeUndefined();
  });
});
