/** scripts/unused-exports.ts on a small tree made for it: what counts as a use, and what is reported. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { unusedExports } from '../../scripts/unused-exports.js';
import { useHarness } from '../../src/testing/hooks.js';

const h = useHarness({ afterEach });

async function tree(files: Record<string, string>): Promise<string> {
  const root = await h.tempDir('peerlane-exports-');
  for (const [name, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await fs.writeFile(path.join(root, name), text);
  }
  return root;
}

it('reports exports nothing imports, and says whether their file still uses them', async () => {
  const root = await tree({
    'src/a.ts': [
      'export const used = 1;',
      'export const dead = 2;',
      'export const localOnly = 3;',
      'export interface Shape { n: number }',
      'export const twice = localOnly * 2;',
    ].join('\n'),
    'src/b.ts': "import { used } from './a.js';\nexport { twice } from './a.js';\nconsole.log(used);",
    'test/b.test.ts': "import { twice } from '../src/b.js';\nconsole.log(twice);",
  });
  expect(unusedExports(root)).toEqual([
    { file: 'src/a.ts', name: 'dead', kind: 'value', local: false },
    { file: 'src/a.ts', name: 'localOnly', kind: 'value', local: true },
    { file: 'src/a.ts', name: 'Shape', kind: 'type', local: false },
  ]);
});

it('counts the public entries, namespace imports, import() and the package name as uses', async () => {
  const root = await tree({
    'src/index.ts': "export { api } from './api.js';\nexport const notReported = 1;",
    'src/api.ts': 'export function api() {}\nexport function hidden() {}',
    'src/all.ts': 'export const x = 1;\nexport type Y = string;',
    'src/lazy.ts': 'export const z = 1;',
    'src/testing/index.ts': "export { kit } from './kit.js';",
    'src/testing/kit.ts': 'export const kit = 1;',
    'scripts/run.ts':
      "import * as all from '../src/all.js';\nawait import('../src/lazy.js');\nconsole.log(all);",
    'test/x.test.ts':
      "import { api } from 'peerlane';\nimport { kit } from 'peerlane/testing';\nconsole.log(api, kit);",
  });
  expect(unusedExports(root)).toEqual([{ file: 'src/api.ts', name: 'hidden', kind: 'value', local: false }]);
});
