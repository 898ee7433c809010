/**
 * Strict Semantic Versioning 2.0 (`MAJOR.MINOR.PATCH[-pre][+build]`), as the reference
 * engine parses it (python-semver `Version.parse`), and SemVer precedence: pre-releases sort
 * before the release, build metadata is ignored.
 */
export interface SemVer {
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  readonly prerelease: readonly string[];
}

const NUMBER = '0|[1-9][0-9]*';
const PRERELEASE_PART = `(?:${NUMBER}|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)`;
const SEMVER = new RegExp(
  `^(${NUMBER})\\.(${NUMBER})\\.(${NUMBER})` +
    `(?:-(${PRERELEASE_PART}(?:\\.${PRERELEASE_PART})*))?` +
    `(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?` +
    // Python's `$` also accepts one trailing newline.
    `\\n?$`,
);

/** Parses a version, or returns null when it is not strict SemVer. */
export function parseSemVer(text: string): SemVer | null {
  const match = SEMVER.exec(text);
  if (!match) return null;
  const [, major = '0', minor = '0', patch = '0', prerelease] = match;
  return {
    major: BigInt(major),
    minor: BigInt(minor),
    patch: BigInt(patch),
    prerelease: prerelease === undefined ? [] : prerelease.split('.'),
  };
}

/** SemVer precedence: negative, zero or positive. */
export function compareSemVer(a: SemVer, b: SemVer): number {
  for (const [x, y] of [
    [a.major, b.major],
    [a.minor, b.minor],
    [a.patch, b.patch],
  ] as const) {
    if (x !== y) return x < y ? -1 : 1;
  }
  const aIsPrerelease = a.prerelease.length > 0;
  const bIsPrerelease = b.prerelease.length > 0;
  if (!aIsPrerelease || !bIsPrerelease) {
    if (aIsPrerelease === bIsPrerelease) return 0;
    return aIsPrerelease ? -1 : 1;
  }
  const length = Math.min(a.prerelease.length, b.prerelease.length);
  for (let i = 0; i < length; i += 1) {
    const result = compareIdentifiers(a.prerelease[i] ?? '', b.prerelease[i] ?? '');
    if (result !== 0) return result;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

const NUMERIC = /^[0-9]+$/;

function compareIdentifiers(a: string, b: string): number {
  const aNumeric = NUMERIC.test(a);
  const bNumeric = NUMERIC.test(b);
  if (aNumeric && bNumeric) {
    const x = BigInt(a);
    const y = BigInt(b);
    return x === y ? 0 : x < y ? -1 : 1;
  }
  if (aNumeric) return -1;
  if (bNumeric) return 1;
  return a === b ? 0 : a < b ? -1 : 1;
}
