import { readFileSync } from 'node:fs';
import ts from 'typescript';

/** An error class of `@icot/core` and the code it carries. */
export interface ErrorClass {
  readonly name: string;
  readonly code: string;
  /** Its doc comment's first sentence. */
  readonly summary: string;
}

/** What `errors.ts` of `@icot/core` declares: every `IcotErrorCode` and every `IcotError` subclass with its code. */
export interface ErrorCatalogue {
  readonly codes: readonly string[];
  readonly classes: readonly ErrorClass[];
}

/**
 * Read the `IcotErrorCode` union and the error classes from the source of `@icot/core`'s
 * errors (the code, not a copy): a class's code is the string literal it passes to `super`.
 */
export function readErrorCatalogue(errorsSource: string): ErrorCatalogue {
  const source = ts.createSourceFile(errorsSource, readFileSync(errorsSource, 'utf8'), ts.ScriptTarget.ES2022, true);
  const codes: string[] = [];
  const classes: ErrorClass[] = [];
  for (const statement of source.statements) {
    if (ts.isTypeAliasDeclaration(statement) && statement.name.text === 'IcotErrorCode' && ts.isUnionTypeNode(statement.type))
      for (const member of statement.type.types) if (ts.isLiteralTypeNode(member) && ts.isStringLiteral(member.literal)) codes.push(member.literal.text);
    if (!ts.isClassDeclaration(statement) || !statement.name) continue;
    const heritage = statement.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]?.expression.getText(source);
    if (heritage !== 'IcotError') continue;
    let code: string | undefined;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.SuperKeyword) {
        const literal = node.arguments.find((a): a is ts.StringLiteral => ts.isStringLiteral(a));
        if (literal) code = literal.text;
      }
      ts.forEachChild(node, visit);
    };
    visit(statement);
    if (!code) throw new Error(`${statement.name.text} passes no code literal to super()`);
    const docs = ts.getJSDocCommentsAndTags(statement).map((d) => (typeof d.comment === 'string' ? d.comment : '')).join(' ');
    classes.push({ name: statement.name.text, code, summary: docs.split(/(?<=\.)\s/)[0] ?? '' });
  }
  return { codes, classes };
}
