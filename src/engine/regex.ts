import { RE2JS } from 're2js';
import { BoundedCache } from './bounded-cache';

/**
 * REGEX conditions. Flagsmith applies the condition value with Python's `re.match`: the
 * pattern must match at the start of the text, not necessarily up to its end. Patterns run
 * on RE2 (re2js), whose matching time is linear in the input, so no pattern can stall the
 * server. A pattern RE2 cannot compile (invalid, or a Python feature RE2 lacks such as
 * backreferences and lookahead) never matches.
 *
 * Why re2js, measured on Node 20 with a 100 KB trait value (test/security/redos.e2e.test.ts
 * prints the figures): the classic catastrophic patterns (`(a+)+$`, `(a|aa)+$`,
 * `^(\w+\s?)*$`, …) take about 1 ms, because there is no backtracking to blow up. The
 * alternatives were worse: Node's own engine backtracks (exponential time); V8's linear-time
 * engine (`--enable-experimental-regexp-engine`, flag `l`) is an experimental process-wide
 * switch, refuses the very shapes in question once `u` is on and `(.?){17}` even without it
 * ("Cannot be executed in linear time"), and took 13–110 ms per match where re2js's lazy DFA
 * takes about 1 ms; the native `re2` package builds from source at install.
 *
 * Linear is not free: time grows with input length times the size of the pattern's
 * automaton. Saving a pattern that compiles to more than `MAX_REGEX_PROGRAM` instructions is
 * refused (`regexProgramSize`; `(.?){1000}$` took 170–330 ms even on 2,000 characters). Within
 * the limit, a pattern whose automaton has a new state at every character stays costly:
 * `.*a.{240}$` (248 instructions) took about 25 ms on 2,000 characters (the longest trait
 * value the SDK API accepts) and 300 ms on 100 KB.
 *
 * Python syntax is translated where RE2 differs but can express the same thing: `\d`, `\w`,
 * `\s` (and their negations outside character classes) match Unicode characters as in
 * Python, `\Z` becomes `\z`, and `\uXXXX`/`\UXXXXXXXX` become `\x{...}`. Remaining known
 * differences: `\b` is ASCII-only in RE2, and `$` does not match before a final newline.
 */

/**
 * The most instructions a saved REGEX pattern may compile to. Ordinary patterns (an e-mail
 * shape, a version, a list of names) compile to tens; counted repetitions multiply what they
 * repeat (`(.?){1000}$` compiles to 4,005).
 */
export const MAX_REGEX_PROGRAM = 500;

const cache = new BoundedCache<string, RE2JS | null>(512);

/** Whether `pattern` matches at the start of `text`. Never throws. */
export function regexMatchesAtStart(pattern: string, text: string): boolean {
  const compiled = cache.get(pattern, compileAnchored);
  if (compiled === null) return false;
  try {
    return compiled.testExact(text);
  } catch {
    return false;
  }
}

/**
 * How many instructions the pattern compiles to as evaluation runs it (translated, anchored),
 * or null when it does not compile.
 */
export function regexProgramSize(pattern: string): number | null {
  return cache.get(pattern, compileAnchored)?.programSize() ?? null;
}

function compileAnchored(pattern: string): RE2JS | null {
  const translated = translatePythonPattern(pattern);
  if (translated === null) return null;
  try {
    // Compiled alone first so that e.g. `a)(b` stays invalid once wrapped in a group.
    RE2JS.compile(translated);
    // A match at the start is a match of the whole text by the pattern and then anything.
    // Matched whole (`testExact`), it runs on re2js's anchored lazy DFA: a prefix search
    // (`^(?:…)` with `test`) adds a search thread at every character, and patterns that are
    // one-pass (`[a-z]+$`, `\w*$`) go to a one-pass matcher that took 10 ms on 100 KB
    // against the DFA's 1 ms.
    return RE2JS.compile(`(?:${translated})(?s:.*)`);
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
