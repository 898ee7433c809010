import { Authorized, Extensions } from 'type-graphql';
import {
  HIDE_EXTENSION,
  REQUIRES_EXTENSION,
  WRITABLE_EXTENSION,
  type Requirement,
} from './requirement';

/**
 * Declares what a query, mutation, field resolver or object field requires.
 * Enforced by the auth checker (type-graphql `@Authorized`) and recorded in the schema's
 * extensions, where the fail-closed test reads it.
 */
export function Requires(...requirements: Requirement[]): MethodDecorator & PropertyDecorator {
  if (requirements.length === 0) throw new Error('@Requires needs at least one requirement');
  const authorized = Authorized<Requirement>(...requirements);
  const extensions = Extensions({ [REQUIRES_EXTENSION]: requirements });
  return (target: object, key: string | symbol, descriptor?: PropertyDescriptor) => {
    (authorized as (t: object, k: string | symbol, d?: PropertyDescriptor) => void)(
      target,
      key,
      descriptor,
    );
    (extensions as (t: object, k: string | symbol, d?: PropertyDescriptor) => void)(
      target,
      key,
      descriptor,
    );
  };
}

/**
 * Declares what reading any field of an object type requires (checked once per object by
 * permissions/type-requirements.ts where objects of the type come out). Fields may add
 * stricter requirements with `@Requires`.
 */
export function TypeRequires(...requirements: Requirement[]): ClassDecorator {
  if (requirements.length === 0) throw new Error('@TypeRequires needs at least one requirement');
  return Extensions({ [REQUIRES_EXTENSION]: requirements }) as ClassDecorator;
}

/** Put on every resolver class: a method without its own `@Requires` is refused. */
export function DenyByDefault(): ClassDecorator {
  return Authorized<Requirement>({ kind: 'deny' }) as ClassDecorator;
}

/**
 * Guards one field of an object type: a caller who does not meet it reads `null`
 * (the field must be nullable). Enforced by permissions/type-requirements.ts.
 */
export function FieldRequires(...requirements: Requirement[]): PropertyDecorator & MethodDecorator {
  if (requirements.length === 0) throw new Error('@FieldRequires needs at least one requirement');
  return Extensions({
    [REQUIRES_EXTENSION]: requirements,
    [HIDE_EXTENSION]: true,
  }) as PropertyDecorator & MethodDecorator;
}

/**
 * On an input field: only callers meeting one of the requirements may set it. Sending it
 * otherwise is FORBIDDEN naming the field, before the mutation runs (so nothing changes);
 * leaving it out is always allowed. `permissionOn(key, { arg, type })` reads the mutation's
 * own arguments (e.g. the record being changed).
 */
export function WritableBy(...requirements: Requirement[]): PropertyDecorator {
  if (requirements.length === 0) throw new Error('@WritableBy needs at least one requirement');
  return Extensions({ [WRITABLE_EXTENSION]: requirements }) as PropertyDecorator;
}
