/**
 * Makes names unique as anndata's `var_names_make_unique` does: the first occurrence keeps its
 * name, later ones get `-1`, `-2`, ... skipping any suffixed name already present.
 */
export function makeUnique(names: readonly string[]): { names: string[]; renamed: number } {
  const seen = new Set<string>();
  const duplicateAt: number[] = [];
  names.forEach((name, i) => (seen.has(name) ? duplicateAt.push(i) : seen.add(name)));
  if (duplicateAt.length === 0) return { names: [...names], renamed: 0 };
  const out = [...names];
  const counter = new Map<string, number>();
  for (const i of duplicateAt) {
    const base = names[i]!;
    let n = counter.get(base) ?? 0;
    let candidate: string;
    do candidate = `${base}-${++n}`;
    while (seen.has(candidate));
    counter.set(base, n);
    seen.add(candidate);
    out[i] = candidate;
  }
  return { names: out, renamed: duplicateAt.length };
}

/** The first name that occurs twice, with both positions, or undefined. */
export function firstDuplicate(names: readonly string[]): { name: string; first: number; second: number } | undefined {
  const at = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    const first = at.get(names[i]!);
    if (first !== undefined) return { name: names[i]!, first, second: i };
    at.set(names[i]!, i);
  }
  return undefined;
}
