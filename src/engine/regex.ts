import { RE2JS } from 're2js';
import { BoundedCache } from './bounded-cache';

/**
 * REGEX conditions. Flagsmith applies the condition value with Python's `re.match`: the
 * pattern must match at the start of the text, not necessarily up to its end. Patterns run
 * on RE2 (re2js), whose matching time is linear in the input, so no pattern can stall the
 * server. A pattern RE2 cannot compile (invalid, or a Python feature RE2 lacks such as
 * backreferences and lookahead) never matches.
 *
 * Python syntax is translated where RE2 differs but can express the same thing: `\d`, `\w`,
 * `\s` (and their negations outside character classes) match Unicode characters as in
 * Python, `\Z` becomes `\z`, and `\uXXXX`/`\UXXXXXXXX` become `\x{...}`. Remaining known
 * differences: `\b` is ASCII-only in RE2, and `$` does not match before a final newline.
 */

const cache = new BoundedCache<string, RE2JS | null>(512);

/** Whether `pattern` matches at the start of `text`. Never throws. */
export function regexMatchesAtStart(pattern: string, text: string): boolean {
  const compiled = cache.get(pattern, compileAnchored);
  if (compiled === null) return false;
  try {
    return compiled.test(text);
  } catch {
    return false;
  }
}

function compileAnchored(pattern: string): RE2JS | null {
  const translated = translatePythonPattern(pattern);
  if (translated === null) return null;
  try {
    // Compiled alone first so that e.g. `a)(b` stays invalid once wrapped in a group.
    RE2JS.compile(translated);
    return RE2JS.compile(`^(?:${translated})`);
  } catch {
    return null;
  }
}

const WORD = '\\p{L}\\p{N}_';
const SPACE = '\\t-\\r\\x1c-\\x1f\\x85\\p{Z}';

/** Rewrites Python-only escapes into RE2 syntax; null for a dangling backslash. */
export function translatePythonPattern(pattern: string): string | null {
  let out = '';
  let inClass = false;
  let classStart = -1;
  for (let i = 0; i < pattern.length; i += 1) {
    const ch = pattern[i];
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return null;
      i += 1;
      const hex = next === 'u' ? 4 : next === 'U' ? 8 : 0;
      if (hex > 0) {
        const digits = pattern.slice(i + 1, i + 1 + hex);
        if (digits.length !== hex || !/^[0-9a-fA-F]+$/.test(digits)) return null;
        out += `\\x{${digits}}`;
        i += hex;
        continue;
      }
      out += translateEscape(next, inClass);
      continue;
    }
    if (inClass) {
      // A `]` straight after `[` or `[^` is a literal member, not the end of the class.
      if (ch === ']' && i > classStart) inClass = false;
    } else if (ch === '[') {
      inClass = true;
      classStart = pattern[i + 1] === '^' ? i + 2 : i + 1;
    }
    out += ch;
  }
  return out;
}

function translateEscape(letter: string, inClass: boolean): string {
  switch (letter) {
    case 'd':
      return '\\p{Nd}';
    case 'D':
      return '\\P{Nd}';
    case 'w':
      return inClass ? WORD : `[${WORD}]`;
    case 'W':
      return inClass ? '\\W' : `[^${WORD}]`;
    case 's':
      return inClass ? SPACE : `[${SPACE}]`;
    case 'S':
      return inClass ? '\\S' : `[^${SPACE}]`;
    case 'Z':
      return inClass ? '\\Z' : '\\z';
    default:
      return `\\${letter}`;
  }
}
