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
