import { Matches, MaxLength } from 'class-validator';

/** A required display name: not blank, at most `max` characters. */
export function NameField(max: number): PropertyDecorator {
  const notBlank = Matches(/\S/, { message: '$property must not be empty' });
  const maxLength = MaxLength(max, { message: `$property must be at most ${max} characters` });
  return (target, key) => {
    notBlank(target, key);
    maxLength(target, key);
  };
}
