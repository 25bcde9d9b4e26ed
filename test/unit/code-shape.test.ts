/**
 * The shape the code keeps so that each part reads in one sitting: no
 * function in src/ over MAX_FUNCTION_LINES, and no file over
 * MAX_FILE_LINES unless it is named below with the reason it still reads
 * in one sitting.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/project.js';

/** A screen and a half: past it a reader scrolls back and forth to follow one step. */
const MAX_FUNCTION_LINES = 80;
const MAX_FILE_LINES = 300;

/** Files allowed past MAX_FILE_LINES, each with why it still reads in one sitting. */
const LONG_FILES: Record<string, string> = {
  'src/transfer/safe-names.ts':
    'one threat model (hostile received names) under one header: each check is a short function, and splitting them would scatter the rules a reviewer must see together',
  'src/core/transfer/protocol.ts':
    'the one protocol module of the transfer layer: frame kinds, version, limits and codecs with the sequence diagram, as the house rule asks',
  'src/core/signaling/protocol.ts':
    'the one protocol module of the signaling layer: message kinds, version, limits, one parse function per direction, and the diagram',
  'src/core/transfer/sender-engine.ts':
    'one class, one short method per frame kind, under a long header that explains the sender state machine',
  'src/core/transfer/receiver-engine.ts':
    'one class, one short method per frame kind, under a long header that explains the receiver state machine',
  'src/server/handlers.ts':
    'one short handler per client message kind, with the envelope delivery each one pairs with',
  'src/core/swarm/engine.ts':
    'one class, one short method per swarm frame kind, under a header that names the offences; picker, member and protocol live in their own files',
  'src/swarm/connector.ts':
    'one class: the link attempts between members (dial, answer, the lower id winning a crossing, supersede) read together; tracker, sealing and the race live in their own files',
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

function longFunctions(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart()).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > MAX_FUNCTION_LINES)
        found.push(`${path.relative(packageRoot(), file)}:${start + 1} (${lines} lines)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const files = sourceFiles(path.join(packageRoot(), 'src'));

describe('code shape', () => {
  it(`no function in src/ is over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(files.flatMap(longFunctions)).toEqual([]);
  });

  it(`a file in src/ over ${MAX_FILE_LINES} lines is named, with why`, () => {
    const long = files
      .filter((f) => fs.readFileSync(f, 'utf8').split('\n').length > MAX_FILE_LINES)
      .map((f) => path.relative(packageRoot(), f))
      .filter((f) => LONG_FILES[f] === undefined);
    expect(long).toEqual([]);
  });

  it('names no file that is no longer long', () => {
    const stale = Object.keys(LONG_FILES).filter(
      (f) =>
        !fs.existsSync(path.join(packageRoot(), f)) ||
        fs.readFileSync(path.join(packageRoot(), f), 'utf8').split('\n').length <= MAX_FILE_LINES,
    );
    expect(stale).toEqual([]);
  });
});
