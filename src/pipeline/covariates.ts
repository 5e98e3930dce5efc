import { InputError } from '../errors.js';
import { asCategories, type Categories } from '../io/frame.js';
import type { Frame } from '../io/types.js';
import type { PipelineParams } from './params.js';

/** A job's parameters that do not fit its data (a missing column, missing values in a condition). */
export class PipelineInputError extends InputError {
  override readonly name = 'PipelineInputError';
}

export interface Covariate extends Categories {
  readonly name: string;
}

export interface Covariates {
  readonly conditions: Covariate[];
  readonly label?: Covariate;
  readonly warnings: string[];
}

/** Categories with fewer cells than this get a warning: a condition so small hardly constrains the model. */
const FEW_CELLS = 3;

function read(obs: Frame, key: string, role: string): Covariate {
  try {
    return { name: key, ...asCategories(obs, key, role) };
  } catch (error) {
    throw new PipelineInputError((error as Error).message);
  }
}

/** Cells per category. */
function categorySizes(covariate: Categories): number[] {
  const sizes = new Array<number>(covariate.categories.length).fill(0);
  for (const code of covariate.codes) if (code >= 0) sizes[code]!++;
  return sizes;
}

/**
 * Checks the condition and label columns before any work: each must exist and read as categories;
 * a condition may not have missing values. Warns about categories with fewer than 3 cells.
 */
export function readCovariates(obs: Frame, params: Pick<PipelineParams, 'condition_keys' | 'label_key'>): Covariates {
  const warnings: string[] = [];
  const conditions = params.condition_keys.map((key) => {
    const condition = read(obs, key, 'condition_keys');
    const missing = condition.codes.reduce((n, code) => n + (code < 0 ? 1 : 0), 0);
    if (missing > 0) {
      throw new PipelineInputError(`condition "${key}" has no value for ${missing} of ${condition.codes.length} cells; fill them in or drop those cells`);
    }
    if (condition.categories.length < 2) warnings.push(`condition "${key}" has a single category (${condition.categories[0]}); it cannot change anything`);
    return condition;
  });
  const label = params.label_key === null ? undefined : read(obs, params.label_key, 'label_key');
  for (const covariate of label ? [...conditions, label] : conditions) {
    categorySizes(covariate).forEach((size, code) => {
      if (size > 0 && size < FEW_CELLS) warnings.push(`"${covariate.name}" category "${covariate.categories[code]}" has only ${size} cell${size === 1 ? '' : 's'}`);
    });
  }
  if (label && label.codes.every((code) => code < 0)) {
    throw new PipelineInputError(`label_key "${label.name}" has no labelled cell`);
  }
  return { conditions, label, warnings };
}

/** The covariate restricted to the cells kept by QC, with categories no kept cell has dropped. */
export function keepCells(covariate: Covariate, cells: Int32Array): Covariate {
  const codes = Int32Array.from(cells, (r) => covariate.codes[r]!);
  const used = [...new Set(codes)].filter((c) => c >= 0).sort((a, b) => a - b);
  const renumber = new Map(used.map((c, i) => [c, i]));
  return { name: covariate.name, categories: used.map((c) => covariate.categories[c]!), codes: codes.map((c) => renumber.get(c) ?? -1) };
}
