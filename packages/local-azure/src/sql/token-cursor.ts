import type { Token, TokenKind } from './sql-tokens.js';
import type { WorkCounter } from './work-counter.js';

/**
 * Reads a statement's tokens front to back without ever going back, so a statement shape is
 * matched in time proportional to the tokens it looks at. Each method consumes the next token
 * only when it fits.
 */
export class TokenCursor {
  readonly #tokens: readonly Token[];
  readonly #work: WorkCounter;
  #index = 0;

  constructor(tokens: readonly Token[], work: WorkCounter) {
    this.#tokens = tokens;
    this.#work = work;
  }

  /** Every token has been consumed. */
  get done(): boolean {
    return this.#index >= this.#tokens.length;
  }

  /** Consumes the next token if it is one of these words; returns which. */
  word(...alternatives: string[]): string | undefined {
    const token = this.#peek();
    if (token?.kind !== 'word' || !alternatives.includes(token.text)) return undefined;
    this.#index += 1;
    return token.text;
  }

  /** Consumes the next token if it is this punctuation character. */
  punctuation(character: string): boolean {
    const token = this.#peek();
    if (token?.kind !== 'punctuation' || token.text !== character) return false;
    this.#index += 1;
    return true;
  }

  /** Consumes and returns the next token if it is of one of these kinds. */
  take(...kinds: TokenKind[]): Token | undefined {
    const token = this.#peek();
    if (token === undefined || !kinds.includes(token.kind)) return undefined;
    this.#index += 1;
    return token;
  }

  #peek(): Token | undefined {
    this.#work.add();
    return this.#tokens[this.#index];
  }
}
