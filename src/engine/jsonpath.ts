import { BoundedCache } from './bounded-cache';

/**
 * RFC 9535 JSONPath, enough to read a condition property out of the evaluation context:
 * name (`.a`, `['a']`), wildcard, index, slice and descendant (`..`) selectors, and unions of
 * them. Filter selectors (`[?…]`) are not supported: such a query is treated as invalid,
 * which makes the property resolve to the trait of that literal name.
 */

type Selector =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'wildcard' }
  | { readonly kind: 'index'; readonly index: number }
  | {
      readonly kind: 'slice';
      readonly start: number | null;
      readonly end: number | null;
      readonly step: number | null;
    };

interface PathSegment {
  readonly descendant: boolean;
  readonly selectors: readonly Selector[];
}

export type JsonPath = readonly PathSegment[];

const MAX_SAFE = 2 ** 53 - 1;

class InvalidPath extends Error {}

const parsed = new BoundedCache<string, JsonPath | null>(512);

/** Parses a JSONPath query; null when it is not a valid (supported) query. Cached. */
export function parseJsonPath(query: string): JsonPath | null {
  return parsed.get(query, parseUncached);
}

function parseUncached(query: string): JsonPath | null {
  try {
    return new Parser(query).parseQuery();
  } catch (err) {
    if (err instanceof InvalidPath) return null;
    throw err;
  }
}

/** The first node the query selects in `root`, or undefined when it selects nothing. */
export function firstNode(root: unknown, path: JsonPath): unknown {
  for (const node of select(root, path, 0)) return node;
  return undefined;
}

function* select(node: unknown, path: JsonPath, at: number): Generator<unknown> {
  const segment = path[at];
  if (segment === undefined) {
    yield node;
    return;
  }
  const inputs = segment.descendant ? descendants(node) : [node];
  for (const input of inputs) {
    for (const selector of segment.selectors) {
      for (const child of applySelector(input, selector)) yield* select(child, path, at + 1);
    }
  }
}

/** The node and all its descendants, each before its own children, arrays in order. */
function* descendants(node: unknown): Generator<unknown> {
  yield node;
  for (const child of children(node)) yield* descendants(child);
}

function children(node: unknown): unknown[] {
  if (Array.isArray(node)) return node;
  if (isObject(node)) return Object.values(node);
  return [];
}

function isObject(node: unknown): node is Record<string, unknown> {
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}

function* applySelector(node: unknown, selector: Selector): Generator<unknown> {
  switch (selector.kind) {
    case 'name':
      if (isObject(node) && Object.hasOwn(node, selector.name)) yield node[selector.name];
      return;
    case 'wildcard':
      yield* children(node);
      return;
    case 'index': {
      if (!Array.isArray(node)) return;
      const index = selector.index < 0 ? node.length + selector.index : selector.index;
      if (index >= 0 && index < node.length) yield node[index];
      return;
    }
    case 'slice': {
      if (!Array.isArray(node)) return;
      yield* slice(node, selector.start, selector.end, selector.step ?? 1);
      return;
    }
  }
}

function* slice(
  array: readonly unknown[],
  start: number | null,
  end: number | null,
  step: number,
): Generator<unknown> {
  const length = array.length;
  if (step === 0) return;
  const normalise = (i: number): number => (i >= 0 ? i : length + i);
  if (step > 0) {
    const lower = Math.min(Math.max(normalise(start ?? 0), 0), length);
    const upper = Math.min(Math.max(normalise(end ?? length), 0), length);
    for (let i = lower; i < upper; i += step) yield array[i];
  } else {
    const upper = Math.min(Math.max(normalise(start ?? length - 1), -1), length - 1);
    const lower = Math.min(Math.max(normalise(end ?? -length - 1), -1), length - 1);
    for (let i = upper; lower < i; i += step) yield array[i];
  }
}

const BLANK = new Set([' ', '\t', '\n', '\r']);

class Parser {
  private at = 0;

  constructor(private readonly text: string) {}

  parseQuery(): JsonPath {
    this.expect('$');
    const segments: PathSegment[] = [];
    for (;;) {
      const before = this.at;
      this.skipBlank();
      if (this.done()) {
        // Blank space is allowed between segments only, not at the end of the query.
        if (this.at !== before) throw new InvalidPath();
        return segments;
      }
      segments.push(this.parseSegment());
    }
  }

  private parseSegment(): PathSegment {
    if (this.peek() === '[') return { descendant: false, selectors: this.parseBracketed() };
    this.expect('.');
    if (this.peek() === '.') {
      this.at += 1;
      if (this.peek() === '[') return { descendant: true, selectors: this.parseBracketed() };
      return { descendant: true, selectors: [this.parseDotted()] };
    }
    return { descendant: false, selectors: [this.parseDotted()] };
  }

  /** After `.` or `..`: `*` or a member-name shorthand. */
  private parseDotted(): Selector {
    if (this.peek() === '*') {
      this.at += 1;
      return { kind: 'wildcard' };
    }
    const start = this.at;
    let first = true;
    while (!this.done()) {
      const code = this.text.codePointAt(this.at) ?? 0;
      if (!isNameChar(code, first)) break;
      this.at += code > 0xffff ? 2 : 1;
      first = false;
    }
    if (first) throw new InvalidPath();
    return { kind: 'name', name: this.text.slice(start, this.at) };
  }

  private parseBracketed(): Selector[] {
    this.expect('[');
    const selectors: Selector[] = [];
    for (;;) {
      this.skipBlank();
      selectors.push(this.parseSelector());
      this.skipBlank();
      if (this.peek() === ',') {
        this.at += 1;
        continue;
      }
      this.expect(']');
      return selectors;
    }
  }

  private parseSelector(): Selector {
    const ch = this.peek();
    if (ch === "'" || ch === '"') return { kind: 'name', name: this.parseString(ch) };
    if (ch === '*') {
      this.at += 1;
      return { kind: 'wildcard' };
    }
    // Filter selectors (`?`) are not supported.
    const start = this.optionalInt();
    this.skipBlankIf(() => this.peekAfterBlank() === ':');
    if (this.peek() !== ':') {
      if (start === null) throw new InvalidPath();
      return { kind: 'index', index: start };
    }
    this.at += 1;
    this.skipBlank();
    const end = this.optionalInt();
    let step: number | null = null;
    this.skipBlankIf(() => this.peekAfterBlank() === ':');
    if (this.peek() === ':') {
      this.at += 1;
      this.skipBlank();
      step = this.optionalInt();
    }
    return { kind: 'slice', start, end, step };
  }

  /** An RFC 9535 `int`: `0`, or an optional `-` and digits without a leading zero. */
  private optionalInt(): number | null {
    const match = /^(?:0|-?[1-9][0-9]*)/.exec(this.text.slice(this.at));
    if (!match) {
      if (this.peek() === '-') throw new InvalidPath();
      return null;
    }
    const value = Number(match[0]);
    if (Math.abs(value) > MAX_SAFE) throw new InvalidPath();
    this.at += match[0].length;
    return value;
  }

  private parseString(quote: string): string {
    this.at += 1;
    let out = '';
    for (;;) {
      if (this.done()) throw new InvalidPath();
      const ch = this.text[this.at] ?? '';
      this.at += 1;
      if (ch === quote) return out;
      if (ch === '\\') {
        out += this.parseEscape(quote);
        continue;
      }
      if (ch.charCodeAt(0) < 0x20) throw new InvalidPath();
      out += ch;
    }
  }

  private parseEscape(quote: string): string {
    const ch = this.text[this.at] ?? '';
    this.at += 1;
    const simple: Record<string, string> = {
      b: '\b',
      f: '\f',
      n: '\n',
      r: '\r',
      t: '\t',
      '/': '/',
      '\\': '\\',
    };
    if (ch === quote) return quote;
    if (Object.hasOwn(simple, ch)) return simple[ch] ?? '';
    if (ch !== 'u') throw new InvalidPath();
    const high = this.hex4();
    if (high >= 0xdc00 && high <= 0xdfff) throw new InvalidPath();
    if (high < 0xd800 || high > 0xdbff) return String.fromCharCode(high);
    if (this.text.slice(this.at, this.at + 2) !== '\\u') throw new InvalidPath();
    this.at += 2;
    const low = this.hex4();
    if (low < 0xdc00 || low > 0xdfff) throw new InvalidPath();
    return String.fromCharCode(high, low);
  }

  private hex4(): number {
    const digits = this.text.slice(this.at, this.at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) throw new InvalidPath();
    this.at += 4;
    return parseInt(digits, 16);
  }

  private peek(): string | undefined {
    return this.text[this.at];
  }

  private peekAfterBlank(): string | undefined {
    let i = this.at;
    while (BLANK.has(this.text[i] ?? '')) i += 1;
    return this.text[i];
  }

  private skipBlank(): void {
    while (BLANK.has(this.peek() ?? '')) this.at += 1;
  }

  private skipBlankIf(condition: () => boolean): void {
    if (condition()) this.skipBlank();
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) throw new InvalidPath();
    this.at += 1;
  }

  private done(): boolean {
    return this.at >= this.text.length;
  }
}

/** RFC 9535 `name-first` (ALPHA, `_`, non-ASCII) and `name-char` (also DIGIT). */
function isNameChar(code: number, first: boolean): boolean {
  if ((code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f) {
    return true;
  }
  if (!first && code >= 0x30 && code <= 0x39) return true;
  return (code >= 0x80 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0x10ffff);
}
