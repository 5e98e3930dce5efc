import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParamsError, pipelineParamsSchema, resolveParams, type PipelineParams } from '../../src/pipeline/params.js';
import { settleTrainingLength } from '../../src/pipeline/index.js';

/** Every key of the TypeScript type, checked both ways at compile time, and against the schema at run time. */
const PARAM_KEYS = [
  'layer', 'genome', 'min_genes', 'max_genes', 'min_counts', 'max_counts', 'max_pct_mito', 'min_cells', 'target_sum', 'flavor', 'n_top_genes', 'batch_key',
  'n_clusters', 'latent_dim', 'w_dim', 'hidden', 'likelihood', 'scale', 'condition_keys', 'label_key', 'dirichlet_alpha', 'epochs', 'schedule', 'component_init_epochs', 'component_placement', 'learning_rate',
  'batch_size', 'seed', 'n_neighbors', 'min_dist', 'spread', 'markers_n',
] as const satisfies readonly (keyof PipelineParams)[];
type Missing = Exclude<keyof PipelineParams, (typeof PARAM_KEYS)[number]>;
const noneMissing: [Missing] extends [never] ? true : Missing = true;

describe('pipeline parameters', () => {
  it('the TypeScript type and the JSON Schema name the same keys, each with a default', () => {
    assert.equal(noneMissing, true);
    assert.deepEqual(Object.keys(pipelineParamsSchema.properties).sort(), [...PARAM_KEYS].sort());
    for (const [key, spec] of Object.entries(pipelineParamsSchema.properties)) assert.ok('default' in spec, `${key} has no default`);
    assert.deepEqual(Object.keys(resolveParams({})).sort(), [...PARAM_KEYS].sort());
  });

  it("fills in scanpy's defaults where scanpy has them", () => {
    const params = resolveParams({});
    assert.equal(params.n_neighbors, 15);
    assert.equal(params.min_dist, 0.5);
    assert.equal(params.spread, 1);
    assert.equal(params.n_top_genes, 2000);
    assert.deepEqual(params.condition_keys, []);
    assert.equal(params.label_key, null);
  });

  it('keeps what the user gave and does not change the input object', () => {
    const input = { condition_keys: ['platform'], n_clusters: 3 };
    const params = resolveParams(input);
    assert.deepEqual(params.condition_keys, ['platform']);
    assert.equal(params.n_clusters, 3);
    assert.deepEqual(Object.keys(input), ['condition_keys', 'n_clusters']);
  });

  it('rejects unknown keys and bad values, naming each', () => {
    assert.throws(() => resolveParams({ n_clusterz: 3, epochs: 0, flavor: 'scran' }), (error: unknown) => {
      assert.ok(error instanceof ParamsError);
      assert.deepEqual(error.problems.length, 3);
      assert.match(error.message, /unknown parameter "n_clusterz"/);
      assert.match(error.message, /"epochs" must be >= 1/);
      assert.match(error.message, /"flavor" must be equal to one of the allowed values/);
      return true;
    });
    assert.throws(() => resolveParams([]), /must be a JSON object/);
    assert.throws(() => resolveParams({ target_sum: 'mean' }), /target_sum/);
  });

  it('settles the training length by the number of cells where left null, and keeps what is given', () => {
    const auto = resolveParams({});
    assert.equal(auto.epochs, null);
    assert.equal(auto.component_init_epochs, null);
    assert.deepEqual([499, 2638, 100_000, 50].map((n) => settleTrainingLength(auto, n).epochs), [110, 21, 20, 400]);
    assert.equal(settleTrainingLength(auto, 499).component_init_epochs, 55);
    const given = settleTrainingLength(resolveParams({ epochs: 7, component_init_epochs: 0 }), 499);
    assert.deepEqual([given.epochs, given.component_init_epochs], [7, 0]);
  });
});
