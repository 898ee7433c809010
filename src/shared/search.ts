/** Escapes LIKE wildcards so a search term matches literally. */
export function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** A MikroORM condition: the column contains `term`, case-insensitively and literally. */
export function containsText(term: string): { $ilike: string } {
  return { $ilike: `%${escapeLike(term)}%` };
}

/** A MikroORM condition: the column equals `term`, case-insensitively. */
export function equalsText(term: string): { $ilike: string } {
  return { $ilike: escapeLike(term) };
}
