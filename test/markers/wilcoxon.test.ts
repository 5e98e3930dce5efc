import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { CsrMatrix } from '../../src/io/types.js';
import { benjaminiHochberg, rankGenesGroups, twoSidedNormalP, type MarkerTable } from '../../src/markers/wilcoxon.js';

/** CSR from dense rows, storing only non-zeros unless `keepZeros`. */
function csr(rows: number[][], keepZeros = false): CsrMatrix {
  const indptr = [0];
  const indices: number[] = [];
  const data: number[] = [];
  for (const row of rows) {
    row.forEach((v, j) => { if (v !== 0 || keepZeros) { indices.push(j); data.push(v); } });
    indptr.push(indices.length);
  }
  return { nRows: rows.length, nCols: rows[0].length, indptr: Int32Array.from(indptr), indices: Int32Array.from(indices), data: Float32Array.from(data) };
}

function rowOf(table: MarkerTable, group: number, gene: string): number {
  const row = table.gene.findIndex((g, r) => g === gene && table.group[r] === group);
  assert.ok(row >= 0, `group ${group} gene ${gene} missing`);
  return row;
}

function assertClose(actual: number, expected: number, relative: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= relative * Math.max(Math.abs(expected), 1e-300), `${what}: ${actual} vs ${expected}`);
}

test('hand-computed case: one gene, zeros and ties', () => {
  // Values 0 0 | 1 2 2: ranks 1.5 1.5 | 3 4.5 4.5; group 0 rank sum 3 vs expected 6, sd sqrt(2*3*6/12).
  const table = rankGenesGroups(csr([[0], [0], [1], [2], [2]]), Int32Array.from([0, 0, 1, 1, 1]), ['g'], { nTop: 1 });
  assert.deepEqual(Array.from(table.group), [0, 1]);
  assert.deepEqual(Array.from(table.rank), [1, 1]);
  assertClose(table.score[0], -3 / Math.sqrt(3), 1e-12, 'score group 0');
  assertClose(table.score[1], 3 / Math.sqrt(3), 1e-12, 'score group 1');
  assertClose(table.pval[1], 0.0832645166635504, 1e-6, 'p = 2 * norm.sf(sqrt(3))');
  assertClose(table.logFoldChange[1], Math.log2((Math.expm1(5 / 3) + 1e-9) / 1e-9), 1e-12, 'lfc');
  assert.deepEqual([table.pctIn[1], table.pctOut[1], table.pctIn[0], table.pctOut[0]], [1, 0, 0, 1]);
});

test('matches scipy ranksums / mannwhitneyu and Benjamini-Hochberg (test/markers/scipy-reference.json)', () => {
  const reference = JSON.parse(readFileSync(new URL('./scipy-reference.json', import.meta.url), 'utf8')) as {
    X: number[][]; labels: number[];
    groups: Record<string, Record<'score' | 'pval' | 'pval_adj' | 'pval_tie_corrected' | 'logfoldchange' | 'pct_in' | 'pct_out', number[]>>;
  };
  const nGenes = reference.X[0].length;
  const genes = Array.from({ length: nGenes }, (_, j) => `gene${j}`);
  const X = csr(reference.X);
  const labels = Int32Array.from(reference.labels);
  const table = rankGenesGroups(X, labels, genes, { nTop: nGenes });
  const tieCorrected = rankGenesGroups(X, labels, genes, { nTop: nGenes, tieCorrect: true });
  for (const [groupKey, expected] of Object.entries(reference.groups)) {
    const group = Number(groupKey);
    genes.forEach((gene, j) => {
      const r = rowOf(table, group, gene);
      assertClose(table.score[r], expected.score[j], 1e-9, `score ${group}/${gene}`);
      assertClose(table.pval[r], expected.pval[j], 1e-6, `pval ${group}/${gene}`);
      assertClose(table.pvalAdj[r], expected.pval_adj[j], 1e-6, `pval_adj ${group}/${gene}`);
      assertClose(table.logFoldChange[r], expected.logfoldchange[j], 1e-9, `lfc ${group}/${gene}`);
      assertClose(table.pctIn[r], expected.pct_in[j], 1e-12, `pct_in ${group}/${gene}`);
      assertClose(table.pctOut[r], expected.pct_out[j], 1e-12, `pct_out ${group}/${gene}`);
      const rt = rowOf(tieCorrected, group, gene);
      assertClose(tieCorrected.pval[rt], expected.pval_tie_corrected[j], 1e-6, `tie-corrected pval ${group}/${gene}`);
    });
  }
  // Rows: groups ascending, ranks 1..n, scores descending within a group.
  for (let r = 1; r < table.group.length; r++) {
    if (table.group[r] === table.group[r - 1]) {
      assert.equal(table.rank[r], table.rank[r - 1] + 1);
      assert.ok(table.score[r] <= table.score[r - 1]);
    } else assert.ok(table.group[r] > table.group[r - 1]);
  }
});

test('stored zeros, negative values and unlabelled cells rank like a dense computation', () => {
  const rows = [[-1, 0, 2], [0, 0, 2], [0.5, 3, 0], [-1, 0, 0], [2, 0, 1], [0, 1, 0], [0.5, 0, 2]];
  const labels = Int32Array.from([0, 0, 1, 1, -1, 2, 2]);
  const genes = ['a', 'b', 'c'];
  const sparse = rankGenesGroups(csr(rows), labels, genes, { nTop: 3 });
  const withZeros = rankGenesGroups(csr(rows, true), labels, genes, { nTop: 3 });
  assert.deepEqual(withZeros, sparse);
  // Dense average ranks per gene, group against every other cell.
  const n = rows.length;
  for (let c = 0; c < 3; c++) {
    for (let j = 0; j < 3; j++) {
      const values = rows.map((row) => row[j]);
      const rankOf = (v: number): number => values.filter((w) => w < v).length + (values.filter((w) => w === v).length + 1) / 2;
      const inGroup = values.filter((_, i) => labels[i] === c);
      const nIn = inGroup.length;
      const expected = (inGroup.reduce((s, v) => s + rankOf(v), 0) - (nIn * (n + 1)) / 2) / Math.sqrt((nIn * (n - nIn) * (n + 1)) / 12);
      assertClose(sparse.score[rowOf(sparse, c, genes[j])], expected, 1e-12, `score ${c}/${genes[j]}`);
    }
  }
  assert.ok(!Array.from(sparse.group).includes(-1));
});

test('p-value helpers: normal tail and Benjamini-Hochberg', () => {
  assertClose(twoSidedNormalP(1.959963984540054), 0.05, 1e-6, 'p(1.96)');
  assertClose(twoSidedNormalP(10), 1.5239706946e-23, 1e-6, 'p(10)');
  assert.equal(twoSidedNormalP(0), 1);
  // statsmodels multipletests(..., method="fdr_bh") on [0.01, 0.04, 0.03, 0.2]: [0.04, 0.0533, 0.0533, 0.2].
  const adjusted = benjaminiHochberg(Float64Array.from([0.01, 0.04, 0.03, 0.2]));
  [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.2].forEach((v, i) => assertClose(adjusted[i], v, 1e-12, `bh ${i}`));
});

test('log fold changes undo a log1p of another base, as scanpy does with uns["log1p"]["base"]', () => {
  // log2(1 + x) of 3 and 1 in group 0, 1 and 0 in group 1: means 1.5 and 0.5 in base 2.
  const values = [[2], [1], [1], [0]];
  const natural = rankGenesGroups(csr(values), Int32Array.from([0, 0, 1, 1]), ['g'], { nTop: 1 });
  const base2 = rankGenesGroups(csr(values), Int32Array.from([0, 0, 1, 1]), ['g'], { nTop: 1, logBase: 2 });
  assertClose(natural.logFoldChange[0], Math.log2((Math.expm1(1.5) + 1e-9) / (Math.expm1(0.5) + 1e-9)), 1e-12, 'natural');
  assertClose(base2.logFoldChange[0], Math.log2((2 ** 1.5 - 1 + 1e-9) / (2 ** 0.5 - 1 + 1e-9)), 1e-12, 'base 2');
  assert.deepEqual(Array.from(base2.score), Array.from(natural.score), 'the ranks do not depend on the base');
});
