/**
 * A spec file parsed with source positions: the plain value for validation, plus lookups from a
 * path inside the document (`['base', 'model', 'windows', 2]`) back to line and column.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { SpecIssue } from './issues.ts';

export type DocPath = readonly (string | number)[];

export class SpecSource {
  readonly value: unknown;
  /** YAML syntax errors (the value is unusable when there are any). */
  readonly syntaxIssues: SpecIssue[];
  private readonly doc: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: true, uniqueKeys: true });
    this.syntaxIssues = this.doc.errors.map((e) => {
      const at = e.linePos?.[0] ?? { line: 1, col: 1 };
      return { file, line: at.line, col: at.col, path: '', message: `YAML syntax error: ${e.message.split(' at line ')[0]}` };
    });
    this.value = this.syntaxIssues.length === 0 ? this.doc.toJS() : undefined;
  }

  /** Where the value at `path` starts, or the deepest existing ancestor when the path is absent. */
  valueAt(path: DocPath): { line: number; col: number; exact: boolean } {
    const { node, exact } = this.walk(path);
    return { ...this.pos(node?.range?.[0] ?? 0), exact };
  }

  /** Where the key of the last path segment is written (for unknown keys); falls back to valueAt. */
  keyAt(path: DocPath): { line: number; col: number } {
    const parent = this.walk(path.slice(0, -1));
    const last = path[path.length - 1];
    if (parent.exact && isMap(parent.node)) {
      const pair = parent.node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(last));
      if (pair && isScalar(pair.key) && pair.key.range) return this.pos(pair.key.range[0]);
    }
    return this.valueAt(path);
  }

  private walk(path: DocPath): { node: Node | null; exact: boolean } {
    let node = this.doc.contents as Node | null;
    for (const segment of path) {
      let next: unknown = undefined;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
        next = pair?.value ?? undefined;
      } else if (isSeq(node) && typeof segment === 'number') {
        next = node.items[segment];
      }
      if (!next || typeof next !== 'object') return { node, exact: false };
      node = next as Node;
    }
    return { node, exact: true };
  }

  private pos(offset: number): { line: number; col: number } {
    const { line, col } = this.lines.linePos(offset);
    return { line, col };
  }
}
