/** How Flagsmith stores a typed value: a type tag and one column per type. */
export enum ValueType {
  int = 'int',
  unicode = 'unicode',
  bool = 'bool',
}

export interface TypedValue {
  readonly valueType: ValueType;
  readonly stringValue: string | null;
  readonly integerValue: string | null;
  readonly booleanValue: boolean | null;
}

const INT_LIMIT = 2_147_483_647;

/**
 * Types a feature's initial value the way Flagsmith types default states
 * (shared/spec/sdk-rest-api.md §4.1): a 32-bit integer string → int; exactly
 * true/True/false/False → bool; anything else → string.
 */
export function typeInitialValue(value: string | null | undefined): TypedValue {
  if (value === null || value === undefined) {
    return {
      valueType: ValueType.unicode,
      stringValue: null,
      integerValue: null,
      booleanValue: null,
    };
  }
  if (/^[+-]?\d+$/.test(value) && Math.abs(Number(value)) < INT_LIMIT) {
    return {
      valueType: ValueType.int,
      stringValue: null,
      integerValue: String(Number(value)),
      booleanValue: null,
    };
  }
  if (value === 'true' || value === 'True' || value === 'false' || value === 'False') {
    return {
      valueType: ValueType.bool,
      stringValue: null,
      integerValue: null,
      booleanValue: value.toLowerCase() === 'true',
    };
  }
  return {
    valueType: ValueType.unicode,
    stringValue: value,
    integerValue: null,
    booleanValue: null,
  };
}

/** A feature value as the API speaks it: a string, an integer, a boolean, or null. */
export type FlagValue = string | number | boolean | null;

/** The stored form of an API value. Integers keep their type; strings are not re-typed. */
export function typedValue(value: FlagValue): TypedValue {
  if (value === null) return typeInitialValue(null);
  if (typeof value === 'boolean')
    return {
      valueType: ValueType.bool,
      stringValue: null,
      integerValue: null,
      booleanValue: value,
    };
  if (typeof value === 'number')
    return {
      valueType: ValueType.int,
      stringValue: null,
      integerValue: String(value),
      booleanValue: null,
    };
  return {
    valueType: ValueType.unicode,
    stringValue: value,
    integerValue: null,
    booleanValue: null,
  };
}

/** The API value of a stored typed value (entity rows may leave unused columns undefined). */
export function valueOf(v: {
  readonly valueType: ValueType;
  readonly stringValue?: string | null;
  readonly integerValue?: string | null;
  readonly booleanValue?: boolean | null;
}): FlagValue {
  switch (v.valueType) {
    case ValueType.int:
      return v.integerValue == null ? null : Number(v.integerValue);
    case ValueType.bool:
      return v.booleanValue ?? null;
    case ValueType.unicode:
      return v.stringValue ?? null;
  }
}

/** A multivariate option's value columns (options name their type column `type`). */
export interface OptionColumns {
  readonly type: ValueType;
  readonly stringValue: string | null;
  readonly integerValue: string | null;
  readonly booleanValue: boolean | null;
}

export function optionColumns(value: FlagValue): OptionColumns {
  const { valueType, ...rest } = typedValue(value);
  return { type: valueType, ...rest };
}
