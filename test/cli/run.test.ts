import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { progressLine } from '../../src/cli/run.js';
import { repoRoot, tempDir } from '../io/fixtures.js';

function cli(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'main.ts'), ...args], { encoding: 'utf8', cwd: repoRoot });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('cli run', () => {
  it('runs the pipeline with --key value parameters, printing JSON progress lines off a terminal', async () => {
    const out = join(await tempDir(), 'out');
    const { code, stdout, stderr } = cli(
      'run', join(repoRoot, 'data', 'cellbench_2platforms.h5ad'), '--out', out,
      '--condition-keys', 'platform', '--n_clusters', '3', '--epochs', '2', '--n_top_genes', '200', '--hidden', '16', '--latent_dim', '2', '--w_dim', '2', '--markers_n', '3', '--label_key', 'null',
    );
    assert.equal(code, 0, stderr);
    const summary = JSON.parse(stdout);
    assert.equal(summary.out, out);
    assert.equal(summary.cells.kept, 499);
    const events = stderr.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    assert.ok(events.some((e) => e.stage === 'fit' && e.epoch === 2));
    // Every long stage moves within itself, not only at its start and end.
    for (const stage of ['read', 'qc', 'umap', 'markers', 'write']) assert.ok(events.some((e) => e.stage === stage && e.fraction > 0 && e.fraction < 1), `${stage} reports progress within the stage`);
    assert.ok(events.some((e) => e.stage === 'hvg' && e.fraction === 0), 'hvg is entered as its own stage');
    assert.ok(events.some((e) => e.stage === 'umap' && e.message === 'nearest neighbours'));
    assert.deepEqual((await readdir(out)).sort(), [...summary.outputs].sort());
  });

  it('exits 2 with the parameter named for an unknown key, and needs --out', () => {
    const bad = cli('run', join(repoRoot, 'data', 'cellbench_2platforms.h5ad'), '--out', '/tmp/never', '--n-clusterz', '3');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown parameter "n_clusterz"/);
    assert.equal(cli('run', join(repoRoot, 'data', 'cellbench_2platforms.h5ad')).code, 2);
  });
});

describe('cli preprocess', () => {
  it('writes qc_cells.csv and hvg.csv and prints the summary line', async () => {
    const out = join(await tempDir(), 'pp');
    const { code, stdout, stderr } = cli('preprocess', join(repoRoot, 'test', 'fixtures', 'preprocess', 'pbmc3k_subset'), '--out', out, '--min-cells', '3', '--flavor', 'seurat_v3', '--n-top-genes', '50');
    assert.equal(code, 0, stderr);
    assert.equal(JSON.parse(stdout).highlyVariable, 50);
    assert.deepEqual((await readdir(out)).sort(), ['hvg.csv', 'qc_cells.csv']);
  });

  it('refuses a bad value naming the parameter, and a parameter the command does not use', () => {
    const bad = cli('preprocess', join(repoRoot, 'test', 'fixtures', 'preprocess', 'pbmc3k_subset'), '--out', '/tmp/never', '--flavor', 'scran');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"flavor" must be equal to one of the allowed values/);
    const foreign = cli('preprocess', join(repoRoot, 'test', 'fixtures', 'preprocess', 'pbmc3k_subset'), '--out', '/tmp/never', '--n-clusters', '3');
    assert.equal(foreign.code, 2);
    assert.match(foreign.stderr, /"n_clusters" is not a parameter of this command; it takes layer, genome, min_genes/);
  });
});

describe('cli progress line', () => {
  it('shows the job and the current stage, each with its bar and time left', () => {
    const line = progressLine({ stage: 'umap', fraction: 0.5, overall: 0.8, message: 'UMAP layout', etaSeconds: 130, stageEtaSeconds: 65 });
    assert.equal(line, '[################....]  80% | umap [#####.....]  50% 1m05s left UMAP layout | all 2m10s left');
    assert.equal(progressLine({ stage: 'read', fraction: 0, overall: 0, message: 'reading x.h5ad' }), '[....................]   0% | read [..........]   0% reading x.h5ad');
  });
});
