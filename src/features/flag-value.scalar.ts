import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { FEATURE_VALUE_LIMIT } from './feature.entity';
import type { FlagValue } from './feature-value';

function check(value: unknown): FlagValue {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw new GraphQLError('FlagValue: numbers must be integers; send other values as strings');
    return value;
  }
  if (typeof value === 'string') {
    if (value.length > FEATURE_VALUE_LIMIT)
      throw new GraphQLError(`FlagValue: at most ${FEATURE_VALUE_LIMIT} characters`);
    return value;
  }
  throw new GraphQLError('FlagValue: must be a string, an integer, a boolean or null');
}

function literal(ast: ValueNode): FlagValue {
  switch (ast.kind) {
    case Kind.STRING:
      return check(ast.value);
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return check(Number(ast.value));
    case Kind.NULL:
      return null;
    default:
      throw new GraphQLError('FlagValue: must be a string, an integer, a boolean or null');
  }
}

/** A feature value, typed as Flagsmith types it: string, integer or boolean. */
export const FlagValueScalar = new GraphQLScalarType<FlagValue, FlagValue>({
  name: 'FlagValue',
  description:
    'A feature value: a string (at most 20,000 characters), an integer or a boolean; null for none.',
  serialize: (value) => check(value),
  parseValue: (value) => check(value),
  parseLiteral: literal,
});
