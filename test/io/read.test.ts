import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspectDataset, readDataset, withDatasetBlocks } from '../../src/io/index.js';
import { gatherBlocks } from '../../src/io/row-blocks.js';
import type { Column, CsrMatrix } from '../../src/io/types.js';
import { fixture, summaryOfRead } from './fixtures.js';

/** A file of every layout the readers know, with the options that pick its matrix. */
const EVERY_LAYOUT: [string, { layer?: string; genome?: string }][] = [
  ['pbmc68k-reduced-counts.h5ad', {}],
  ['csc.h5ad', {}],
  ['layouts.h5ad', {}],
  ['layouts.h5ad', { layer: 'counts_csc' }],
  ['layouts.h5ad', { layer: 'raw' }],
  ['tenx-v2/filtered_gene_bc_matrices_h5.h5', {}],
  ['tenx-v2/multiple_genomes.h5', { genome: 'another_genome' }],
  ['tenx-v3/filtered_feature_bc_matrix.h5', {}],
  ['tenx-v3/filtered_feature_bc_matrix', {}],
  ['tenx-v3/citeseq.h5', {}],
  ['citeseq-mtx.tar.gz', {}],
];

/** A CSR matrix's five fields (the MTX reader adds the file's field type). */
const csr = ({ nRows, nCols, indptr, indices, data }: CsrMatrix) => ({ nRows, nCols, indptr, indices, data });

/** Dense copy of a CSR matrix's rows, for comparing readers on tiny inputs. */
function toDense(X: { nRows: number; nCols: number; indptr: Int32Array; indices: Int32Array; data: Float32Array }): number[][] {
  return Array.from({ length: X.nRows }, (_, r) => {
    const row = new Array<number>(X.nCols).fill(0);
    for (let k = X.indptr[r]!; k < X.indptr[r + 1]!; k++) row[X.indices[k]!] = X.data[k]!;
    return row;
  });
}

function categories(column: Column | undefined): string[] {
  assert.equal(column?.kind, 'categorical');
  return column.kind === 'categorical' ? Array.from(column.codes, (c) => column.categories[c]!) : [];
}

describe('readDataset: formats', () => {
  it('reads a 10x v2 HDF5 file and its MTX twin to the same matrix', async () => {
    const h5 = await readDataset(fixture('tenx-v2', 'filtered_gene_bc_matrices_h5.h5'));
    const mtx = await readDataset(fixture('tenx-v2', 'filtered_gene_bc_matrices'));
    assert.equal(h5.format, '10x-h5-v2');
    assert.equal(mtx.format, '10x-mtx');
    assert.deepEqual([h5.data.X.nRows, h5.data.X.nCols, h5.data.X.data.length], [12, 343, 12]);
    assert.deepEqual(toDense(h5.data.X), toDense(mtx.data.X));
    assert.deepEqual(h5.data.obs.index, mtx.data.obs.index);
    assert.deepEqual(h5.data.var.index, mtx.data.var.index);
    assert.equal(h5.values, 'counts');
  });

  it('asks for a genome when a v2 file holds several, and reads the one chosen', async () => {
    await assert.rejects(readDataset(fixture('tenx-v2', 'multiple_genomes.h5')), { code: 'ambiguous_choice', message: /another_genome, hg19_chr21/ });
    const chosen = await readDataset(fixture('tenx-v2', 'multiple_genomes.h5'), { genome: 'hg19_chr21' });
    assert.equal(chosen.matrix, 'hg19_chr21');
    assert.deepEqual(chosen.genomes, ['another_genome', 'hg19_chr21']);
    await assert.rejects(readDataset(fixture('tenx-v2', 'multiple_genomes.h5'), { genome: 'mm10' }), { code: 'missing_element', message: /no genome "mm10"/ });
  });

  it('reads a 10x v3 HDF5 file and its gzipped MTX folder (with a %metadata_json comment) alike', async () => {
    const h5 = await readDataset(fixture('tenx-v3', 'filtered_feature_bc_matrix.h5'));
    const mtx = await readDataset(fixture('tenx-v3', 'filtered_feature_bc_matrix'));
    assert.equal(h5.format, '10x-h5-v3');
    assert.deepEqual([h5.data.X.nRows, h5.data.X.nCols, h5.data.X.data.length], [1107, 507, 23866]);
    assert.deepEqual(toDense(h5.data.X), toDense(mtx.data.X));
    assert.deepEqual(h5.featureTypes, { 'Gene Expression': 507 });
    assert.deepEqual(h5.genomes, ['GRCh38_chr21']);
    assert.deepEqual([...h5.data.var.columns.keys()], ['gene_ids', 'feature_types', 'genome']);
  });

  it('keeps Gene Expression features of a CITE-seq archive and reports the antibodies, ignoring macOS junk entries', async () => {
    const result = await readDataset(fixture('citeseq-mtx.tar.gz'));
    assert.equal(result.format, '10x-mtx');
    assert.deepEqual(result.featureTypes, { 'Gene Expression': 100, 'Antibody Capture': 17 });
    assert.equal(result.data.X.nCols, 100);
    assert.equal(result.data.X.nRows, 1024);
    assert.ok(categories(result.data.var.columns.get('feature_types')).every((t) => t === 'Gene Expression'));
  });

  it('reads real-valued MTX entries, numeric feature ids and a last line without newline', async () => {
    const result = await readDataset(fixture('int-ids'));
    assert.deepEqual([result.data.X.nRows, result.data.X.nCols, result.data.X.data.length], [5, 6, 3]);
    assert.equal(result.values, 'counts');
  });

  it('makes duplicate gene names unique as scanpy does and counts them', async () => {
    const result = await readDataset(fixture('pbmc-small-mtx'));
    assert.equal(result.renamedGenes, 10);
    assert.equal(new Set(result.data.var.index).size, result.data.var.index.length);
    assert.ok(result.data.var.index.some((name) => /-1$/.test(name)));
  });

  it('reads h5ad X as CSR, CSC and dense, raw/X and layers, with categorical obs columns', async () => {
    const csr = await readDataset(fixture('pbmc68k-reduced-counts.h5ad'));
    assert.deepEqual([csr.data.X.nRows, csr.data.X.nCols, csr.data.X.data.length], [700, 765, 174400]);
    assert.equal(categories(csr.data.obs.columns.get('bulk_labels')).length, 700);
    const csc = await readDataset(fixture('csc.h5ad'));
    const layer = await readDataset(fixture('layouts.h5ad'), { layer: 'counts_csc' });
    assert.equal(layer.matrix, 'layers/counts_csc');
    assert.deepEqual(toDense(csc.data.X), toDense(layer.data.X));
    assert.deepEqual(toDense(csc.data.X), toDense(csr.data.X).slice(0, 60).map((row) => row.slice(0, 40)));
    const dense = await readDataset(fixture('layouts.h5ad'));
    assert.equal(dense.values, 'scaled');
    const raw = await readDataset(fixture('layouts.h5ad'), { layer: 'raw' });
    assert.equal(raw.matrix, 'raw/X');
    assert.equal(raw.values, 'lognorm');
    assert.deepEqual(categories(csc.data.obs.columns.get('bulk_labels')), categories(dense.data.obs.columns.get('bulk_labels')));
    assert.equal(csc.data.obs.columns.get('n_counts')?.kind, 'numeric');
  });

  it('reads anndata 0.7 categoricals stored under __categories', async () => {
    const old = await readDataset(fixture('categorical-0.7.h5ad'));
    const now = await readDataset(fixture('csc.h5ad'));
    assert.deepEqual(categories(old.data.obs.columns.get('bulk_labels')), categories(now.data.obs.columns.get('bulk_labels')));
  });

  it('inspection leaves the matrix in the file and reports what reading it reports, for every layout', async () => {
    for (const [file, options] of EVERY_LAYOUT) {
      assert.deepEqual(await inspectDataset(fixture(file), options), summaryOfRead(await readDataset(fixture(file), options)), file);
    }
    const citeseq = await inspectDataset(fixture('tenx-v3/citeseq.h5'));
    assert.deepEqual([citeseq.n_vars, citeseq.feature_types], [500, { 'Gene Expression': 500, 'Antibody Capture': 7 }], 'the genes kept, their values counted in the file');
  });

  it('reads every layout by blocks of rows as it reads it whole, in one block or in many', async () => {
    for (const [file, options] of EVERY_LAYOUT) {
      const { data, ...read } = await readDataset(fixture(file), options);
      await withDatasetBlocks(fixture(file), options, ({ X, obs, var: variables, ...described }) => {
        assert.deepEqual(described, read, file);
        assert.deepEqual([obs, variables], [data.obs, data.var], file);
        const small = Math.max(1, Math.floor(data.X.data.length / 5));
        for (const maxValues of [undefined, small]) {
          const firsts: number[] = [];
          X.eachBlock((_, first) => firsts.push(first), maxValues);
          assert.ok(maxValues === undefined || firsts.length >= 4, `${file}: several blocks of ${maxValues} values`);
          assert.deepEqual(csr(gatherBlocks(X, maxValues)), csr(data.X), `${file}, blocks of ${maxValues ?? 'default'} values`);
        }
      });
    }
  });

  it('names the matrices a file offers when asked for one it lacks', async () => {
    await assert.rejects(readDataset(fixture('layouts.h5ad'), { layer: 'spliced' }), { code: 'missing_element', message: /offers: X, raw, layers\/counts_csc/ });
  });
});
