import { ValidationError } from './errors';

/** Parses a GraphQL `ID` argument into a database id, or fails naming the field. */
export function parseId(value: unknown, field: string): number {
  const text = typeof value === 'number' ? String(value) : value;
  if (typeof text === 'string' && /^[1-9][0-9]{0,9}$/.test(text)) {
    const id = Number(text);
    if (id <= 2_147_483_647) return id;
  }
  throw new ValidationError(field, `"${String(value).slice(0, 40)}" is not a valid id`);
}
