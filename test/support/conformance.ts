import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { EvaluationResult, LegacyEnvironmentDocument, TraitValue } from '../../src/engine';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Flagsmith's engine conformance data (shared/conformance/engine), read in place: from
 * FLAGWARD_CONFORMANCE_DIR, else the `shared` folder beside this repository. Missing data is
 * an error, never a skipped test.
 */
export function conformanceDir(): string {
  const found = conformanceDirOrNull();
  if (!found) {
    throw new Error(
      `Flagsmith conformance data not found (looked in ${candidates().join(', ')}); ` +
        'set FLAGWARD_CONFORMANCE_DIR to the shared/conformance/engine folder',
    );
  }
  return found;
}

/** The conformance folder, or null when it is nowhere to be found. */
export function conformanceDirOrNull(): string | null {
  return candidates().find((c) => existsSync(path.join(c, 'cases'))) ?? null;
}

function candidates(): string[] {
  return [
    process.env.FLAGWARD_CONFORMANCE_DIR,
    path.resolve(ROOT, '../shared/conformance/engine'),
  ].filter((c): c is string => Boolean(c));
}

/** The legacy (v1) environment document with identities and the flags Flagsmith served them. */
export function legacyEnvironmentFile(): string {
  const dir = path.join(conformanceDir(), 'legacy');
  const file = readdirSync(dir).find((f) => f.endsWith('.json'));
  if (!file) throw new Error(`no legacy environment file in ${dir}`);
  return path.join(dir, file);
}

export interface LegacyFile {
  environment: LegacyEnvironmentDocument;
  identities_and_responses?: {
    identity: {
      identifier: string;
      django_id: number;
      identity_traits: { trait_key: string; trait_value: TraitValue }[];
    };
    response: {
      flags: {
        feature: { name: string };
        enabled: boolean;
        feature_state_value: TraitValue;
      }[];
    };
  }[];
}

/** Feature name → {enabled, value}, the part of a flag the API response and engine share. */
export function legacyFlags(result: EvaluationResult): Record<string, unknown> {
  return Object.fromEntries(
    Object.values(result.flags).map((flag) => [
      flag.name,
      { enabled: flag.enabled, value: flag.value },
    ]),
  );
}

export function expectedLegacyFlags(
  flags: { feature: { name: string }; enabled: boolean; feature_state_value: TraitValue }[],
): Record<string, unknown> {
  return Object.fromEntries(
    flags.map((flag) => [
      flag.feature.name,
      { enabled: flag.enabled, value: flag.feature_state_value },
    ]),
  );
}
