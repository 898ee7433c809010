import { Field, ObjectType } from 'type-graphql';
import { Authenticated } from '../permissions/requirement';
import { TypeRequires } from '../permissions/requires.decorator';
import { ValidationError } from './errors';

/**
 * Opaque cursors for keyset pagination over numeric ids: base64url of the id's decimal
 * text. Clients must treat them as opaque; only what `encodeIdCursor` makes decodes.
 */
export function encodeIdCursor(id: string | number): string {
  return Buffer.from(String(id), 'utf8').toString('base64url');
}

/** The id a cursor stands for, or BAD_USER_INPUT naming `field`. */
export function decodeIdCursor(cursor: string, field: string): string {
  if (/^[A-Za-z0-9_-]{1,28}$/.test(cursor)) {
    const id = Buffer.from(cursor, 'base64url').toString('utf8');
    if (/^[1-9][0-9]{0,18}$/.test(id) && encodeIdCursor(id) === cursor) return id;
  }
  throw new ValidationError(field, 'is not a cursor this API gave out');
}

/** Relay's page info, forward pagination only. */
@ObjectType({ description: 'Where a page of a list ends, and whether more follows.' })
@TypeRequires(Authenticated)
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, {
    nullable: true,
    description: "The last edge's cursor (null on an empty page); pass it as `after`.",
  })
  endCursor!: string | null;
}
