/** Items grouped by a numeric key, each group in the items' order. */
export function groupBy<T>(items: readonly T[], key: (item: T) => number): Map<number, T[]> {
  const map = new Map<number, T[]>();
  for (const item of items) pushTo(map, key(item), item);
  return map;
}

/** Appends `item` to the list under `key`, starting the list when needed. */
export function pushTo<T>(map: Map<number, T[]>, key: number, item: T): void {
  const list = map.get(key);
  if (list) list.push(item);
  else map.set(key, [item]);
}
