import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../../app/project-root.js';

/** One import of a project source file. */
export interface SourceImport {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  /** Project-relative path of what is imported, or the bare specifier for a package or node built-in. */
  readonly target: string;
}

/** Every import of `file` (project-relative), static, dynamic and re-exports, as TypeScript itself reads them. */
export function importsOf(file: string): SourceImport[] {
  const text = readFileSync(join(projectRoot(), file), 'utf8');
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((ref) => importAt(file, text.slice(0, ref.pos).split('\n').length, ref.fileName));
}

export function importAt(file: string, line: number, specifier: string): SourceImport {
  const root = projectRoot();
  const target = specifier.startsWith('.')
    ? relative(root, resolve(root, dirname(file), specifier)).split(sep).join('/').replace(/\.js$/, '.ts')
    : specifier;
  return { file, line, specifier, target };
}

/** The project files `entry` needs to run: itself and everything its imports reach, transitively. */
export function importClosure(entry: string): string[] {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const imp of importsOf(file)) {
      if (!imp.specifier.startsWith('.') || seen.has(imp.target)) continue;
      seen.add(imp.target);
      queue.push(imp.target);
    }
  }
  return [...seen].sort();
}
