/**
 * The files one run writes into its output folder, with their content types: the one list the
 * writers (outputs.ts), the manifest, the job links and the download route read.
 */

export const RESULT_FILES = {
  'result.h5ad': 'application/x-hdf5',
  'cells.csv': 'text/csv; charset=utf-8',
  'markers.csv': 'text/csv; charset=utf-8',
  'latent.csv': 'text/csv; charset=utf-8',
  'training.csv': 'text/csv; charset=utf-8',
  'umap.png': 'image/png',
  'loss.png': 'image/png',
  'embedding.bin': 'application/octet-stream',
  'expression.bin': 'application/octet-stream',
  'manifest.json': 'application/json',
} as const;
export type ResultFileName = keyof typeof RESULT_FILES;

/** The UMAP coloured by one condition column: umap_<column>.png, the name made safe for a file. */
export function conditionUmapName(condition: string): string {
  return `umap_${condition.replace(/[^A-Za-z0-9_.-]/g, '_')}.png`;
}
/** The pattern of conditionUmapName's names, as the download route's schema states it. */
export const CONDITION_UMAP_PATTERN = '^umap_[A-Za-z0-9_.-]+\\.png$';
const CONDITION_UMAP = new RegExp(CONDITION_UMAP_PATTERN);

/** Every file a run with these condition columns writes, manifest.json last. */
export function resultFileNames(conditionKeys: readonly string[]): string[] {
  const fixed = Object.keys(RESULT_FILES) as ResultFileName[];
  return [...fixed.filter((name) => name !== 'manifest.json'), ...conditionKeys.map(conditionUmapName), 'manifest.json'];
}

/** The content type of a result file a run may write, or undefined for any other name. */
export function resultContentType(name: string): string | undefined {
  if (Object.hasOwn(RESULT_FILES, name)) return RESULT_FILES[name as ResultFileName];
  return CONDITION_UMAP.test(name) ? 'image/png' : undefined;
}
