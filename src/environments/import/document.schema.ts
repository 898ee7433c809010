import { z } from 'zod';
import { ConditionOperator, RuleType } from '../../segments/segment.entity';

/**
 * What the importer accepts: a Flagsmith environment document as
 * `/api/v1/environment-document/` serves it, or an older (v1) one, which leaves out many
 * keys. Values must fit what Flagward stores; everything else in the document is ignored.
 */

const flagValue = z.union([
  z.string().max(20_000),
  z.boolean(),
  z.number().int('must be an integer (Flagsmith stores no fractional values)'),
  z.null(),
]);

const multivariateValue = z.object({
  multivariate_feature_option: z.object({
    value: flagValue,
    id: z.number().int().nullish(),
    key: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'must be a slug of at most 100 characters')
      .nullish(),
  }),
  percentage_allocation: z.number().min(0).max(100),
  id: z.number().int().nullish(),
  mv_fs_value_uuid: z.string().nullish(),
});

const featureState = z
  .object({
    feature: z.object({
      id: z.number().int(),
      name: z.string().trim().min(1).max(2000),
      type: z.string().optional(),
    }),
    enabled: z.boolean(),
    django_id: z.union([z.number().int(), z.string().max(100)]).nullish(),
    feature_segment: z.object({ priority: z.number().int().nullish() }).nullish(),
    featurestate_uuid: z.string().nullish(),
    feature_state_value: flagValue.optional(),
    multivariate_feature_state_values: z.array(multivariateValue).default([]),
  })
  .refine(
    (s) =>
      s.multivariate_feature_state_values.reduce(
        (sum, v) => sum + Math.round(v.percentage_allocation * 100),
        0,
      ) <= 10_000,
    {
      message: 'percentage allocations add up to more than 100',
      path: ['multivariate_feature_state_values'],
    },
  );

const condition = z.object({
  operator: z.enum(ConditionOperator),
  value: z
    .union([z.string().max(1000), z.number()])
    .nullish()
    .transform((v) => (v == null ? null : String(v))),
  property_: z.string().max(1000).nullish(),
});

export interface ImportedRule {
  type: RuleType;
  rules: ImportedRule[];
  conditions: z.infer<typeof condition>[];
}

const rule: z.ZodType<ImportedRule, unknown> = z.lazy(() =>
  z.object({
    type: z.enum(RuleType),
    rules: z.array(rule).default([]),
    conditions: z.array(condition).default([]),
  }),
);

const segment = z.object({
  id: z.number().int().positive(),
  name: z.string().trim().min(1).max(2000),
  rules: z.array(rule).default([]),
  feature_states: z.array(featureState).default([]),
});

const identityOverride = z.object({
  identifier: z.string().min(1).max(2000),
  identity_features: z.array(featureState).default([]),
});

export const importedDocumentSchema = z.object({
  id: z.number().int().optional(),
  api_key: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be a client-side environment key (not a ser. key)'),
  name: z.string().trim().min(1).max(2000).nullish(),
  project: z.object({
    id: z.number().int().optional(),
    name: z.string().trim().min(1).max(2000).nullish(),
    organisation: z.object({ name: z.string().trim().min(1).max(2000).nullish() }).nullish(),
    hide_disabled_flags: z.boolean().nullish(),
    segments: z.array(segment).default([]),
    enable_realtime_updates: z.boolean().nullish(),
    server_key_only_feature_ids: z.array(z.number().int()).nullish(),
  }),
  feature_states: z.array(featureState),
  identity_overrides: z.array(identityOverride).nullish(),
  allow_client_traits: z.boolean().nullish(),
  hide_sensitive_data: z.boolean().nullish(),
  hide_disabled_flags: z.boolean().nullish(),
  use_identity_composite_key_for_hashing: z.boolean().nullish(),
  use_identity_overrides_in_local_eval: z.boolean().nullish(),
});

export type ImportedDocument = z.infer<typeof importedDocumentSchema>;
export type ImportedFeatureState = z.infer<typeof featureState>;
export type ImportedCondition = z.infer<typeof condition>;

/** A document that cannot be imported, with the path of each problem. */
export class DocumentProblem extends Error {
  constructor(readonly problems: readonly { path: string; message: string }[]) {
    super(problems.map((p) => `${p.path || '(document)'}: ${p.message}`).join('\n'));
  }
}

/**
 * Parses a document (or engine test data that wraps one as `environment`), refusing it
 * whole with every problem's path, e.g. `project.segments.2.rules.0.conditions.1.operator`.
 */
export function parseImportedDocument(input: unknown): ImportedDocument {
  const doc =
    input !== null && typeof input === 'object' && !('api_key' in input) && 'environment' in input
      ? (input as { environment: unknown }).environment
      : input;
  const result = importedDocumentSchema.safeParse(doc);
  if (!result.success) {
    throw new DocumentProblem(
      result.error.issues.slice(0, 20).map((issue) => ({
        path: issue.path.map(String).join('.'),
        message: issue.message,
      })),
    );
  }
  checkUnique(result.data);
  return result.data;
}

/** Within one document a feature appears once per list; segments once each. */
function checkUnique(doc: ImportedDocument): void {
  const problems: { path: string; message: string }[] = [];
  // Feature names are unique case-insensitively, like Flagsmith's; identifiers are exact.
  const once = (names: string[], path: string, what: string, fold = true) => {
    const seen = new Set<string>();
    names.forEach((name, i) => {
      const key = fold ? name.toLowerCase() : name;
      if (seen.has(key)) problems.push({ path: `${path}.${i}`, message: `${what} listed twice` });
      seen.add(key);
    });
  };
  once(
    doc.feature_states.map((s) => s.feature.name),
    'feature_states',
    'feature',
  );
  once(
    doc.project.segments.map((s) => String(s.id)),
    'project.segments',
    'segment id',
  );
  doc.project.segments.forEach((s, i) =>
    once(
      s.feature_states.map((f) => f.feature.name),
      `project.segments.${i}.feature_states`,
      'feature',
    ),
  );
  (doc.identity_overrides ?? []).forEach((o, i) =>
    once(
      o.identity_features.map((f) => f.feature.name),
      `identity_overrides.${i}.identity_features`,
      'feature',
    ),
  );
  once(
    (doc.identity_overrides ?? []).map((o) => o.identifier),
    'identity_overrides',
    'identity',
    false,
  );
  if (problems.length > 0) throw new DocumentProblem(problems);
}
