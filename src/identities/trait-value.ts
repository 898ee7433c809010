import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { registerEnumType } from 'type-graphql';
import { TraitValueType } from './identity.entity';

/** Longest string a trait may hold (Flagsmith's `string_value`). */
export const TRAIT_STRING_LIMIT = 2000;

/**
 * A trait value with its type. The type travels with the value because JSON alone cannot
 * tell the float 2.0 from the integer 2, and Flagsmith keeps them apart.
 */
export interface TypedTraitValue {
  readonly type: TraitValueType;
  readonly value: string | number | boolean;
}

/** The trait types as the GraphQL API names them. */
export enum TraitType {
  INT = 'INT',
  FLOAT = 'FLOAT',
  BOOL = 'BOOL',
  STRING = 'STRING',
}
registerEnumType(TraitType, {
  name: 'TraitValueType',
  description: "How a trait's value is stored and compared: Flagsmith's int, float, bool, unicode.",
});

const API_TYPE: Readonly<Record<TraitValueType, TraitType>> = {
  [TraitValueType.int]: TraitType.INT,
  [TraitValueType.float]: TraitType.FLOAT,
  [TraitValueType.bool]: TraitType.BOOL,
  [TraitValueType.unicode]: TraitType.STRING,
};

export function traitTypeOf(type: TraitValueType): TraitType {
  return API_TYPE[type];
}

const INVALID = 'TraitValue: must be a string, a number or a boolean';

/** A number as a trait: a safe integer is an int, anything else finite a float. */
function numeric(value: number, float: boolean): TypedTraitValue {
  if (!Number.isFinite(value)) throw new GraphQLError('TraitValue: numbers must be finite');
  if (!float && Number.isSafeInteger(value)) return { type: TraitValueType.int, value };
  return { type: TraitValueType.float, value };
}

function parse(value: unknown): TypedTraitValue {
  if (typeof value === 'boolean') return { type: TraitValueType.bool, value };
  if (typeof value === 'string') return { type: TraitValueType.unicode, value };
  if (typeof value === 'number') return numeric(value, false);
  throw new GraphQLError(INVALID);
}

function literal(ast: ValueNode): TypedTraitValue {
  switch (ast.kind) {
    case Kind.STRING:
      return { type: TraitValueType.unicode, value: ast.value };
    case Kind.BOOLEAN:
      return { type: TraitValueType.bool, value: ast.value };
    case Kind.INT:
      return numeric(Number(ast.value), false);
    case Kind.FLOAT:
      // A literal keeps its spelling: `2.0` is a float even though it is whole.
      return numeric(Number(ast.value), true);
    default:
      throw new GraphQLError(INVALID);
  }
}

function serialize(value: unknown): string | number | boolean {
  const v = value as Partial<TypedTraitValue> | null;
  if (v && typeof v === 'object' && v.type !== undefined && v.value !== undefined) return v.value;
  throw new GraphQLError('TraitValue: cannot serialize an untyped value');
}

/**
 * A trait value: a string (at most 2,000 characters), an integer, a float or a boolean.
 * In JSON variables a whole number is an integer (JSON cannot say 2.0); write the literal
 * `2.0` in the query text to store a whole float.
 */
export const TraitValueScalar = new GraphQLScalarType<TypedTraitValue, string | number | boolean>({
  name: 'TraitValue',
  description:
    'A trait value: a string (at most 2,000 characters), an integer, a float or a boolean. ' +
    'In variables a whole number is an integer; the literal 2.0 in a query is a float.',
  serialize,
  parseValue: parse,
  parseLiteral: literal,
});

/** The stored columns of a trait value (exactly one is not null). */
export interface TraitColumns {
  readonly valueType: TraitValueType;
  readonly stringValue: string | null;
  readonly integerValue: string | null;
  readonly booleanValue: boolean | null;
  readonly floatValue: number | null;
}

export function traitColumns(v: TypedTraitValue): TraitColumns {
  const none = { stringValue: null, integerValue: null, booleanValue: null, floatValue: null };
  switch (v.type) {
    case TraitValueType.int:
      return { ...none, valueType: v.type, integerValue: String(v.value) };
    case TraitValueType.float:
      return { ...none, valueType: v.type, floatValue: Number(v.value) };
    case TraitValueType.bool:
      return { ...none, valueType: v.type, booleanValue: Boolean(v.value) };
    case TraitValueType.unicode:
      return { ...none, valueType: v.type, stringValue: String(v.value) };
  }
}

/** The typed value of a stored trait (entity rows may leave unused columns undefined). */
export function traitValueOf(row: {
  readonly valueType: TraitValueType;
  readonly stringValue?: string | null;
  readonly integerValue?: string | null;
  readonly booleanValue?: boolean | null;
  readonly floatValue?: number | null;
}): TypedTraitValue {
  switch (row.valueType) {
    case TraitValueType.int:
      return { type: row.valueType, value: Number(row.integerValue) };
    case TraitValueType.float:
      return { type: row.valueType, value: Number(row.floatValue) };
    case TraitValueType.bool:
      return { type: row.valueType, value: row.booleanValue === true };
    case TraitValueType.unicode:
      return { type: row.valueType, value: row.stringValue ?? '' };
  }
}
