import type { WorkCounter } from './work-counter.js';

/**
 * A T-SQL tokenizer for the statement matcher: one pass over the text, each character read once,
 * so matching a batch costs time proportional to its length whatever it contains. (The regular
 * expressions it replaces backtracked: a 5 KB batch of `SELECT 1` and spaces took 15 s.)
 */

export type TokenKind =
  /** A keyword or identifier, bare (`notes`), bracketed (`[notes]`) or double-quoted. */
  | 'word'
  | 'number'
  /** `'text'` or `N'text'`; `value` has the `''` escapes resolved. */
  | 'string'
  /** `@name` or `@@name`. */
  | 'variable'
  /** Any other single character: `( ) , = ; . * -` … */
  | 'punctuation'
  /** A string, bracketed or quoted identifier, or block comment without its end. */
  | 'unterminated';

export interface Token {
  readonly kind: TokenKind;
  /** Lower-case for words and variables (brackets and quotes removed); the character itself for punctuation. */
  readonly text: string;
  /** A string literal's value. */
  readonly value: string;
  /** As written, for messages: `@Body`, `N'it''s'`. */
  readonly raw: string;
  /** A line break came between this token and the one before it. */
  readonly afterLineBreak: boolean;
}

export function tokenize(text: string, work: WorkCounter): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  let lineBreak = false;
  const push = (kind: TokenKind, start: number, end: number, normalized: string, value = ''): void => {
    tokens.push({ kind, text: normalized, value, raw: text.slice(start, end), afterLineBreak: lineBreak });
    work.add(end - start); // slicing and lower-casing the token
    lineBreak = false;
  };
  while (index < text.length) {
    work.add();
    const code = text.charCodeAt(index);
    if (isWhitespace(code)) {
      if (code === 10 || code === 13) lineBreak = true;
      index += 1;
      continue;
    }
    const next = text.charCodeAt(index + 1);
    if (code === 45 /* - */ && next === 45) {
      index = skipLineComment(text, index, work);
      continue;
    }
    if (code === 47 /* / */ && next === 42 /* * */) {
      const end = skipBlockComment(text, index, work);
      if (end < 0) {
        push('unterminated', index, text.length, '');
        return tokens;
      }
      index = end;
      continue;
    }
    const start = index;
    if (code === 39 /* ' */ || ((code === 78 || code === 110) /* N n */ && next === 39)) {
      const quote = code === 39 ? index : index + 1;
      const end = closingQuote(text, quote + 1, 39, work);
      if (end < 0) {
        push('unterminated', start, text.length, '');
        return tokens;
      }
      push('string', start, end + 1, '', text.slice(quote + 1, end).replaceAll("''", "'"));
      index = end + 1;
    } else if (code === 91 /* [ */ || code === 34 /* " */) {
      const closing = code === 91 ? 93 /* ] */ : 34;
      const end = closingQuote(text, index + 1, closing, work);
      if (end < 0) {
        push('unterminated', start, text.length, '');
        return tokens;
      }
      const doubled = String.fromCharCode(closing, closing);
      const name = text.slice(index + 1, end).replaceAll(doubled, String.fromCharCode(closing));
      push('word', start, end + 1, name.toLowerCase());
      index = end + 1;
    } else if (code === 64 /* @ */) {
      index += 1;
      while (index < text.length && isWordCharacter(text.charCodeAt(index))) {
        work.add();
        index += 1;
      }
      push('variable', start, index, text.slice(start, index).toLowerCase());
    } else if (isDigit(code)) {
      while (index < text.length && (isDigit(text.charCodeAt(index)) || text.charCodeAt(index) === 46)) {
        work.add();
        index += 1;
      }
      push('number', start, index, text.slice(start, index));
    } else if (isWordCharacter(code)) {
      while (index < text.length && isWordCharacter(text.charCodeAt(index))) {
        work.add();
        index += 1;
      }
      push('word', start, index, text.slice(start, index).toLowerCase());
    } else {
      index += 1;
      push('punctuation', start, index, text.slice(start, index));
    }
  }
  return tokens;
}

/** The index of the closing `quote` from `from` on, skipping doubled ones; -1 if there is none. */
function closingQuote(text: string, from: number, quote: number, work: WorkCounter): number {
  let index = from;
  while (index < text.length) {
    work.add();
    if (text.charCodeAt(index) === quote) {
      if (text.charCodeAt(index + 1) !== quote) return index;
      index += 2;
    } else {
      index += 1;
    }
  }
  return -1;
}

function skipLineComment(text: string, from: number, work: WorkCounter): number {
  let index = from + 2;
  while (index < text.length && text.charCodeAt(index) !== 10 && text.charCodeAt(index) !== 13) {
    work.add();
    index += 1;
  }
  return index;
}

/** T-SQL block comments nest. Returns the index after the comment, or -1 if it never ends. */
function skipBlockComment(text: string, from: number, work: WorkCounter): number {
  let depth = 0;
  let index = from;
  while (index < text.length) {
    work.add();
    const code = text.charCodeAt(index);
    const next = text.charCodeAt(index + 1);
    if (code === 47 && next === 42) {
      depth += 1;
      index += 2;
    } else if (code === 42 && next === 47) {
      depth -= 1;
      index += 2;
      if (depth === 0) return index;
    } else {
      index += 1;
    }
  }
  return -1;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/** Letters, digits, `_ @ # $`, and any non-ASCII character that is not a space. */
function isWordCharacter(code: number): boolean {
  return (
    isDigit(code) ||
    (code >= 65 && code <= 90) ||
    (code >= 97 && code <= 122) ||
    code === 95 ||
    code === 64 ||
    code === 35 ||
    code === 36 ||
    (code > 127 && !isWhitespace(code))
  );
}

function isWhitespace(code: number): boolean {
  return (
    code === 32 ||
    (code >= 9 && code <= 13) ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}
