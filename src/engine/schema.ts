import { z } from 'zod';
import { CONDITION_OPERATORS, RULE_TYPES, type EvaluationContext } from './context';

/**
 * Runtime validation of an evaluation context, following Flagsmith's JSON schema
 * (shared/conformance/engine/schemas/evaluation-context.json). Unknown keys are allowed, as
 * in the schema; the context is returned as given.
 */

const value = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const metadata = z.record(z.string(), z.unknown());

const condition = z
  .looseObject({
    property: z.string(),
    operator: z.enum(CONDITION_OPERATORS),
    value: z.union([z.string(), z.array(z.string())]),
  })
  .superRefine((c, ctx) => {
    if (Array.isArray(c.value) && c.operator !== 'IN') {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `a list value is only allowed with the IN operator, not ${c.operator}`,
      });
    }
  });

interface RuleShape {
  type: (typeof RULE_TYPES)[number];
  conditions?: z.infer<typeof condition>[];
  rules?: RuleShape[];
}

const rule: z.ZodType<RuleShape> = z.lazy(() =>
  z.looseObject({
    type: z.enum(RULE_TYPES),
    conditions: z.array(condition).optional(),
    rules: z.array(rule).optional(),
  }),
);

const variant = z.looseObject({
  key: z.string().optional(),
  value,
  weight: z.number(),
  priority: z.number(),
});

const feature = z.looseObject({
  key: z.string(),
  name: z.string(),
  enabled: z.boolean(),
  value,
  variants: z.array(variant).optional(),
  priority: z.number().optional(),
  metadata: metadata.optional(),
});

const segment = z.looseObject({
  key: z.string(),
  name: z.string(),
  rules: z.array(rule),
  overrides: z.array(feature).optional(),
  metadata: metadata.optional(),
});

const evaluationContext = z.looseObject({
  environment: z.looseObject({ key: z.string(), name: z.string() }),
  identity: z
    .looseObject({
      identifier: z.string(),
      key: z.string().optional(),
      traits: z.record(z.string(), value).optional(),
    })
    .nullable()
    .optional(),
  segments: z.record(z.string(), segment).optional(),
  features: z.record(z.string(), feature).optional(),
});

export type ContextValidation =
  | { readonly ok: true; readonly context: EvaluationContext }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Checks that `input` is an evaluation context. On failure, lists the first problems
 * (at most `limit`), each as `<JSON path>: <message>`, e.g.
 * `segments.s1.rules[0].conditions[2].operator: invalid option: expected one of …`.
 */
export function validateEvaluationContext(input: unknown, limit = 10): ContextValidation {
  const parsed = evaluationContext.safeParse(input, {
    error: (issue) =>
      issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined,
  });
  // The input itself (not zod's copy) is returned: it has just been checked to be a context,
  // and keeping it preserves key order. (The IN/list pairing is checked by the refinement.)
  if (parsed.success) return { ok: true, context: input as EvaluationContext };
  const problems = parsed.error.issues
    .slice(0, limit)
    .map((issue) => `${formatPath(issue.path)}: ${lowerFirst(issue.message)}`);
  return { ok: false, problems };
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `segments.s1.rules[0]`; keys that are not identifiers are quoted: `features["a b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      out +=
        IDENTIFIER.test(key) || /^[0-9]+$/.test(key)
          ? `${out === '' ? '' : '.'}${key}`
          : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

function lowerFirst(message: string): string {
  return message.charAt(0).toLowerCase() + message.slice(1);
}
