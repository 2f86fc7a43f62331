import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { blockName, type CodeBlock } from './snippets.js';

/** A type error in a documentation block, with the block's own line numbers. */
export interface SnippetDiagnostic {
  /** `docs/guide.md:12` (the block's opening fence). */
  readonly block: string;
  /** 1-based line inside the block. */
  readonly line: number;
  readonly message: string;
}

/**
 * Type-check TypeScript blocks as ES modules (top-level await allowed), each in its own file,
 * with the repository's compiler options (`tsconfig.base.json`: strict, NodeNext resolution, the
 * `@icot/source` condition, so packages are checked from their sources). The files are virtual:
 * they live in `packageDir` (whose node_modules links every workspace package) and nothing is
 * written. Returns every error, in the block's own line numbers.
 */
export function typecheckBlocks(blocks: readonly CodeBlock[], root: string, packageDir: string): SnippetDiagnostic[] {
  const base = ts.readConfigFile(join(root, 'tsconfig.base.json'), (path) => readFileSync(path, 'utf8'));
  if (base.error) throw new Error(ts.flattenDiagnosticMessageText(base.error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(base.config, ts.sys, root);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, moduleDetection: ts.ModuleDetectionKind.Force, declaration: false, declarationMap: false, sourceMap: false };
  const virtual = new Map<string, CodeBlock>();
  blocks.forEach((block, i) => virtual.set(join(packageDir, '.snippets', `${block.file.replace(/[^a-z0-9]+/gi, '-')}-${block.line}-${i}.ts`), block));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.fileExists = (path) => virtual.has(path) || fileExists(path);
  host.readFile = (path) => virtual.get(path)?.code ?? readFile(path);
  host.getSourceFile = (path, language, onError, create) => {
    const block = virtual.get(path);
    return block ? ts.createSourceFile(path, block.code, language, true, ts.ScriptKind.TS) : getSourceFile(path, language, onError, create);
  };
  const program = ts.createProgram({ rootNames: [...virtual.keys()], options, host });
  const diagnostics: SnippetDiagnostic[] = [];
  for (const [path, block] of virtual) {
    const source = program.getSourceFile(path);
    if (!source) throw new Error(`${blockName(block)} was not compiled`);
    for (const d of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
      const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line + 1;
      diagnostics.push({ block: blockName(block), line, message: ts.flattenDiagnosticMessageText(d.messageText, '\n') });
    }
  }
  return diagnostics;
}
