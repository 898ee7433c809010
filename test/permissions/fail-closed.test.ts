import { isObjectType, type GraphQLObjectType, type GraphQLSchema } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildFlagwardSchema } from '../../src/graphql/schema';
import { REQUIRES_EXTENSION } from '../../src/permissions/requirement';

const ROOTS = ['Query', 'Mutation', 'Subscription'];

function declares(holder: { extensions?: unknown }): boolean {
  const reqs = (holder.extensions as Record<string, unknown> | undefined)?.[REQUIRES_EXTENSION];
  return Array.isArray(reqs) && reqs.length > 0;
}

describe('every part of the schema declares who may use it (fail-closed)', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildFlagwardSchema();
  });

  it('has a requirement on every query and mutation', () => {
    const missing: string[] = [];
    let counted = 0;
    for (const root of ROOTS) {
      const type = schema.getType(root) as GraphQLObjectType | undefined;
      for (const field of Object.values(type?.getFields() ?? {})) {
        counted++;
        if (!declares(field)) missing.push(`${root}.${field.name}`);
      }
    }
    expect(counted).toBeGreaterThan(15);
    expect(missing).toEqual([]);
  });

  it('has a requirement on every object type, or on each of its fields', () => {
    const missing: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (!isObjectType(type) || type.name.startsWith('__') || ROOTS.includes(type.name)) continue;
      if (declares(type)) continue;
      for (const field of Object.values(type.getFields())) {
        if (!declares(field)) missing.push(`${type.name}.${field.name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('never exposes secrets', () => {
    const fields = Object.values(schema.getTypeMap())
      .filter(isObjectType)
      // Mutation names (changePassword, resetPassword, …) are actions, not values shown.
      .filter((t) => t.name !== 'Mutation')
      .flatMap((t) =>
        Object.values(t.getFields())
          // A yes/no flag such as `Webhook.hasSecret` says a secret exists, not what it is.
          .filter((f) => !(/^has[A-Z]/.test(f.name) && String(f.type) === 'Boolean!'))
          .map((f) => `${t.name}.${f.name}`),
      );
    expect(fields.filter((f) => /password|secret|hash$/i.test(f))).toEqual([]);
  });
});
