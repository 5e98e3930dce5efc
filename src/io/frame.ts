import { DatasetError } from './errors.js';
import type { Column, Frame } from './types.js';

/** A column read as categories; code -1 marks a missing value. */
export interface Categories {
  readonly categories: string[];
  readonly codes: Int32Array;
}

/** Distinct values a numeric column may have and still be read as categories. */
const MAX_NUMERIC_LEVELS = 1000;

/**
 * Reads an obs/var column as categories: categorical as stored, strings and booleans as their
 * values, integer numbers as their distinct values (sorted). Empty strings and NaN are missing.
 * `role` names the parameter in messages (e.g. `condition_keys`).
 */
export function asCategories(frame: Frame, key: string, role: string): Categories {
  const column = frame.columns.get(key);
  if (!column) {
    const known = [...frame.columns.keys()];
    throw new DatasetError('missing_element', `${role} "${key}" is not a column of the data; it has ${known.length ? known.join(', ') : 'no columns'}`);
  }
  switch (column.kind) {
    case 'categorical':
      return { categories: [...column.categories], codes: column.codes };
    case 'boolean':
      return { categories: ['False', 'True'], codes: Int32Array.from(column.values) };
    case 'string':
      return levels(column.values, (v) => v === '', (a, b) => a.localeCompare(b), String);
    case 'numeric': {
      const values = Array.from(column.values);
      if (values.some((v) => Number.isFinite(v) && !Number.isInteger(v))) {
        throw new DatasetError('invalid_value', `${role} "${key}" holds fractional numbers, not categories; give a categorical or integer column`);
      }
      const found = levels(values, (v) => Number.isNaN(v), (a, b) => a - b, String);
      if (found.categories.length > MAX_NUMERIC_LEVELS) {
        throw new DatasetError('invalid_value', `${role} "${key}" has ${found.categories.length} distinct numbers, too many to be categories`);
      }
      return found;
    }
  }
}

function levels<T>(values: readonly T[], isMissing: (v: T) => boolean, compare: (a: T, b: T) => number, name: (v: T) => string): Categories {
  const distinct = [...new Set(values.filter((v) => !isMissing(v)))].sort(compare);
  const codeOf = new Map(distinct.map((v, i) => [v, i]));
  return { categories: distinct.map(name), codes: Int32Array.from(values, (v) => codeOf.get(v) ?? -1) };
}

/** The rows `keep` of a frame, in that order. */
export function subsetFrame(frame: Frame, keep: Int32Array): Frame {
  const columns = new Map<string, Column>();
  for (const [name, column] of frame.columns) {
    switch (column.kind) {
      case 'categorical':
        columns.set(name, { ...column, codes: Int32Array.from(keep, (i) => column.codes[i]!) });
        break;
      case 'numeric':
        columns.set(name, { kind: 'numeric', values: Float64Array.from(keep, (i) => column.values[i]!) });
        break;
      case 'string':
        columns.set(name, { kind: 'string', values: Array.from(keep, (i) => column.values[i]!) });
        break;
      case 'boolean':
        columns.set(name, { kind: 'boolean', values: Uint8Array.from(keep, (i) => column.values[i]!) });
        break;
    }
  }
  return { index: Array.from(keep, (i) => frame.index[i]!), columns };
}

/** The frame with columns added (or replaced) after its own. */
export function withColumns(frame: Frame, added: Record<string, Column>): Frame {
  return { index: frame.index, columns: new Map([...frame.columns, ...Object.entries(added)]) };
}
