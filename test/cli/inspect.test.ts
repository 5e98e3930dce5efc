import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fixture, repoRoot } from '../io/fixtures.js';

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8', cwd: repoRoot });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('cli inspect', () => {
  it('prints one JSON object with the summary fields', () => {
    const { code, stdout } = cli('inspect', fixture('tenx-v3', 'filtered_feature_bc_matrix.h5'), '--json');
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), {
      format: '10x-h5-v3',
      n_obs: 1107,
      n_vars: 507,
      nnz: 23866,
      matrix: 'matrix',
      values: 'counts',
      obs_columns: [],
      var_columns: ['gene_ids', 'feature_types', 'genome'],
      genomes: ['GRCh38_chr21'],
      feature_types: { 'Gene Expression': 507 },
      renamed_genes: 0,
    });
  });

  it('passes --layer and --genome to the reader', () => {
    assert.equal(JSON.parse(cli('inspect', fixture('layouts.h5ad'), '--layer', 'raw', '--json').stdout).matrix, 'raw/X');
    assert.equal(JSON.parse(cli('inspect', fixture('tenx-v2', 'multiple_genomes.h5'), '--genome', 'another_genome', '--json').stdout).matrix, 'another_genome');
  });

  it('exits non-zero with one line on stderr for bad input', () => {
    const { code, stdout, stderr } = cli('inspect', fixture('lzf.h5ad'), '--json');
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(stderr.trim().split('\n').length, 1);
    assert.match(stderr, /LZF/);
  });

  it('rejects an unknown option and an unknown command', () => {
    assert.equal(cli('inspect', fixture('lzf.h5ad'), '--bogus').code, 2);
    assert.equal(cli('frobnicate').code, 2);
  });
});
