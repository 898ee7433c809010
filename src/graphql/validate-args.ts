import { type ValidationError as ClassValidationError, validate } from 'class-validator';
import { getNamedType } from 'graphql';
import type { ValidatorFn } from 'type-graphql';
import { AppError } from '../shared/errors';

/** Flattens class-validator's tree into `path: message` pairs. */
function flatten(
  errors: readonly ClassValidationError[],
  prefix: string,
): { field: string; message: string }[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** Bad input found by an argument's class-validator rules; `field` is the full input path. */
export class ArgumentInputError extends AppError {
  constructor(problems: readonly { field: string; message: string }[]) {
    super('BAD_USER_INPUT', problems.map((p) => `${p.field}: ${p.message}`).join('; '), {
      field: problems[0]?.field,
      fields: problems.map((p) => p.field),
    });
  }
}

/**
 * Validates every object argument with class-validator and reports problems by their full
 * path (`input.rules.0.name`), like the services' own checks do. The argument's name is found
 * from the field's definition by its input type; `@Args()` classes have no prefix.
 */
export const validateArgs: ValidatorFn = async (value, type, { info }) => {
  if (value === null || typeof value !== 'object') return;
  const typeName = typeof type === 'function' ? type.name : undefined;
  const field = info.parentType.getFields()[info.fieldName];
  const arg = field?.args.find((a) => getNamedType(a.type).name === typeName);
  const prefix = arg?.name ?? '';
  const items = Array.isArray(value)
    ? value.map((v, i) => [v, `${prefix}.${i}`] as const)
    : [[value, prefix] as const];
  const problems: { field: string; message: string }[] = [];
  for (const [item, path] of items) {
    if (item === null || typeof item !== 'object') continue;
    const errors = await validate(item as object, {
      skipMissingProperties: true,
      forbidUnknownValues: false,
    });
    problems.push(...flatten(errors, path));
  }
  if (problems.length > 0) throw new ArgumentInputError(problems);
};
