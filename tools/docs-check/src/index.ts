/**
 * The checks that keep `docs/` true: code blocks of the guides and the README (TypeScript blocks
 * type-checked against the workspace packages, excerpts compared with their source, shell blocks
 * marked `run` run), and the error catalogue of `@icot/core` read from its source for the
 * troubleshooting guide.
 * @module
 */
export { blockName, codeBlocks, documentationBlocks, documentationFiles, SHELL_LANGS, TYPESCRIPT_LANGS, type CodeBlock } from './snippets.js';
export { typecheckBlocks, type SnippetDiagnostic } from './typecheck.js';
export { missingExcerptLines } from './excerpts.js';
export { runShell, type ShellResult } from './shell.js';
export { readErrorCatalogue, type ErrorCatalogue, type ErrorClass } from './error-codes.js';
export { anchorsOf, brokenLinks, headingAnchor } from './links.js';
