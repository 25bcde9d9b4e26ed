/**
 * Exports in src/ that nothing imports: not src/, test/ or scripts/, and not
 * the public entries (src/index.ts, src/testing/index.ts, which count as
 * importers of what they re-export). Each is either dead code or an `export`
 * keyword that can go; the list says which (`local`: still used in its file).
 * A type (`kind: 'type'`) may still need its export where an exported
 * function's signature names it: declarations are emitted, and tsc says so.
 *
 *   npm run build && node dist/scripts/unused-exports.js [--json]
 *
 * Syntax only (TypeScript's parser, no type checker): an import is matched to
 * its file by its relative specifier (`./x.js` is `x.ts`), and `peerlane` and
 * `peerlane/testing` to the two entries. `import * as` and `import()` count as
 * using every export of their module.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { packageRoot } from '../src/project.js';

export interface UnusedExport {
  /** Relative to the root, with `/`. */
  file: string;
  name: string;
  /** A value (function, class, const) or a type (interface, type alias); a re-export's kind is not known here. */
  kind: 'value' | 'type' | 're-export';
  /** The name is still used inside its own file: only the `export` keyword is unused. */
  local: boolean;
}

/** What one module exports, and what it takes from others (file → names; '*': all of them). */
interface ModuleFacts {
  exports: { name: string; kind: UnusedExport['kind'] }[];
  uses: Map<string, Set<string>>;
}

const SELF_IMPORTS: Record<string, string> = {
  peerlane: 'src/index.ts',
  'peerlane/testing': 'src/testing/index.ts',
};
const ENTRIES = new Set(Object.values(SELF_IMPORTS));

function tsFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(dir, f));
}

/** The root-relative file a specifier names, or undefined for a package. */
function target(root: string, from: string, specifier: string): string | undefined {
  const self = SELF_IMPORTS[specifier];
  if (self !== undefined) return self;
  if (!specifier.startsWith('.')) return undefined;
  const abs = path.resolve(path.dirname(from), specifier).replace(/\.js$/, '.ts');
  return path.relative(root, abs).split(path.sep).join('/');
}

function hasExportKeyword(node: ts.Node): boolean {
  return (
    ts.canHaveModifiers(node) &&
    (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
  );
}

function kindOf(node: ts.Statement): UnusedExport['kind'] {
  return ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) ? 'type' : 'value';
}

/** The names a top-level `export` declaration introduces. */
function declaredNames(node: ts.Statement): string[] {
  if (ts.isVariableStatement(node))
    return node.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []));
  const named = node as ts.Statement & { name?: ts.Node };
  return named.name !== undefined && ts.isIdentifier(named.name) ? [named.name.text] : [];
}

function moduleFacts(root: string, file: string, source: ts.SourceFile): ModuleFacts {
  const facts: ModuleFacts = { exports: [], uses: new Map() };
  const use = (specifier: ts.Expression | undefined, names: string[]): void => {
    if (specifier === undefined || !ts.isStringLiteral(specifier)) return;
    const to = target(root, file, specifier.text);
    if (to === undefined) return;
    const set = facts.uses.get(to) ?? new Set<string>();
    for (const n of names) set.add(n);
    facts.uses.set(to, set);
  };
  for (const node of source.statements) {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const names: string[] = clause?.name !== undefined ? ['default'] : [];
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) names.push('*');
      if (bindings !== undefined && ts.isNamedImports(bindings))
        for (const el of bindings.elements) names.push((el.propertyName ?? el.name).text);
      use(node.moduleSpecifier, names);
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      if (clause === undefined) use(node.moduleSpecifier, ['*']);
      else if (ts.isNamedExports(clause)) {
        use(
          node.moduleSpecifier,
          clause.elements.map((el) => (el.propertyName ?? el.name).text),
        );
        facts.exports.push(
          ...clause.elements.map((el) => ({ name: el.name.text, kind: 're-export' as const })),
        );
      }
    } else if (hasExportKeyword(node)) {
      const kind = kindOf(node);
      facts.exports.push(...declaredNames(node).map((name) => ({ name, kind })));
    }
  }
  // import('…') anywhere: every export of that module may be reached.
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      use(node.arguments[0], ['*']);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return facts;
}

/** How often `name` appears as an identifier in `source`. */
function identifierCount(source: ts.SourceFile, name: string): number {
  let count = 0;
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && node.text === name) count++;
    ts.forEachChild(node, visit);
  };
  visit(source);
  return count;
}

export function unusedExports(root: string): UnusedExport[] {
  const files = ['src', 'test', 'scripts'].flatMap((d) => tsFiles(path.join(root, d)));
  const sources = new Map<string, ts.SourceFile>();
  const used = new Map<string, Set<string>>();
  const exported = new Map<string, ModuleFacts['exports']>();
  for (const file of files) {
    const rel = path.relative(root, file).split(path.sep).join('/');
    const source = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    sources.set(rel, source);
    const facts = moduleFacts(root, file, source);
    if (rel.startsWith('src/')) exported.set(rel, facts.exports);
    for (const [to, names] of facts.uses) {
      const set = used.get(to) ?? new Set<string>();
      for (const n of names) set.add(n);
      used.set(to, set);
    }
  }
  const unused: UnusedExport[] = [];
  for (const [file, names] of exported) {
    if (ENTRIES.has(file)) continue;
    const takers = used.get(file) ?? new Set<string>();
    if (takers.has('*')) continue;
    const source = sources.get(file);
    for (const { name, kind } of names) {
      if (takers.has(name) || source === undefined) continue;
      unused.push({ file, name, kind, local: identifierCount(source, name) > 1 });
    }
  }
  return unused.sort((a, b) => a.file.localeCompare(b.file) || a.name.localeCompare(b.name));
}

function main(): void {
  const unused = unusedExports(packageRoot());
  if (process.argv.includes('--json')) {
    process.stdout.write(`${JSON.stringify(unused, null, 2)}\n`);
    return;
  }
  for (const u of unused) {
    const note = u.local ? 'used in its file: drop the export' : 'used nowhere: delete it';
    process.stdout.write(`${u.file}\t${u.kind}\t${u.name}\t${note}\n`);
  }
  process.stderr.write(`${unused.length} exports nothing imports\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
