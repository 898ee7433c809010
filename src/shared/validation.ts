import { IsDefined, Matches, MaxLength, ValidateIf } from 'class-validator';

/** A required display name: not blank, at most `max` characters. */
export function NameField(max: number): PropertyDecorator {
  const notBlank = Matches(/\S/, { message: '$property must not be empty' });
  const maxLength = MaxLength(max, { message: `$property must be at most ${max} characters` });
  return (target, key) => {
    notBlank(target, key);
    maxLength(target, key);
  };
}

/**
 * A field of an update that may be left out (no change) but not set to null: its column
 * holds no null. Left out, it is not validated; null is BAD_USER_INPUT "must not be null".
 */
export function OmittableNotNull(): PropertyDecorator {
  const whenGiven = ValidateIf((_input: object, value: unknown) => value !== undefined);
  const notNull = IsDefined({ message: '$property must not be null' });
  return (target, key) => {
    whenGiven(target, key);
    notNull(target, key);
  };
}
