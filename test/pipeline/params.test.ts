import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { paramsFromArgs } from '../../src/cli/args.js';
import { UMAP_DEFAULTS } from '../../src/embed/umap.js';
import { COMPONENT_PLACEMENTS, LIKELIHOODS, SCHEDULE_NAMES } from '../../src/model/index.js';
import {
  fitConfig,
  markerOptions,
  ParamsError,
  pipelineParamsSchema,
  PREPROCESS_KEYS,
  preprocessOptions,
  readOptions,
  resolveParams,
  settleParams,
  umapOptions,
  type PipelineParams,
} from '../../src/pipeline/params.js';
import { HVG_DEFAULTS, HVG_FLAVORS, NORMALIZE_DEFAULTS } from '../../src/preprocess/index.js';

/** Every key of the TypeScript type, checked both ways at compile time, and against the schema at run time. */
const PARAM_KEYS = [
  'layer', 'genome', 'min_genes', 'max_genes', 'min_counts', 'max_counts', 'max_pct_mito', 'min_cells', 'target_sum', 'exclude_highly_expressed', 'max_fraction', 'log_base',
  'flavor', 'n_top_genes', 'min_mean', 'max_mean', 'min_disp', 'max_disp', 'n_bins', 'span', 'batch_key',
  'n_clusters', 'resolution', 'latent_dim', 'w_dim', 'hidden', 'likelihood', 'scale', 'condition_keys', 'center_by_condition', 'label_key', 'dirichlet_alpha', 'epochs', 'schedule', 'component_init_epochs', 'component_placement', 'learning_rate',
  'batch_size', 'seed', 'n_neighbors', 'min_dist', 'spread', 'markers_n',
] as const satisfies readonly (keyof PipelineParams)[];
type Missing = Exclude<keyof PipelineParams, (typeof PARAM_KEYS)[number]>;
const noneMissing: [Missing] extends [never] ? true : Missing = true;

const schemaDefault = (key: string) => pipelineParamsSchema.properties[key]!.default;
const schemaEnum = (key: string) => pipelineParamsSchema.properties[key]!.enum;

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

  it("the libraries' own defaults, where they remain, are the schema's; their choices are the schema's enums", () => {
    assert.deepEqual(
      { minMean: HVG_DEFAULTS.minMean, maxMean: HVG_DEFAULTS.maxMean, minDisp: HVG_DEFAULTS.minDisp, nBins: HVG_DEFAULTS.nBins, span: HVG_DEFAULTS.span, v3TopGenes: HVG_DEFAULTS.v3TopGenes },
      { minMean: schemaDefault('min_mean'), maxMean: schemaDefault('max_mean'), minDisp: schemaDefault('min_disp'), nBins: schemaDefault('n_bins'), span: schemaDefault('span'), v3TopGenes: schemaDefault('n_top_genes') },
    );
    assert.equal(HVG_DEFAULTS.maxDisp, Infinity);
    assert.equal(schemaDefault('max_disp'), null);
    assert.equal(NORMALIZE_DEFAULTS.maxFraction, schemaDefault('max_fraction'));
    assert.deepEqual(UMAP_DEFAULTS, { nNeighbors: schemaDefault('n_neighbors'), minDist: schemaDefault('min_dist'), spread: schemaDefault('spread') });
    assert.deepEqual(schemaEnum('flavor'), [...HVG_FLAVORS]);
    assert.deepEqual(schemaEnum('schedule'), [...SCHEDULE_NAMES]);
    // "auto" is settled by the pipeline (settleParams); every other choice is the model's.
    assert.deepEqual(schemaEnum('component_placement'), ['auto', ...COMPONENT_PLACEMENTS]);
    for (const likelihood of schemaEnum('likelihood')!.filter((choice) => choice !== 'auto')) assert.ok(LIKELIHOODS.includes(likelihood as never), `${likelihood}`);
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

  it('settles the training length and batch by the number of cells where left null, keeps what is given, and fills batch_key from the conditions', () => {
    const auto = resolveParams({});
    assert.equal(auto.epochs, null);
    assert.equal(auto.batch_size, null);
    assert.equal(auto.component_init_epochs, null);
    const cells = [50, 499, 2638, 20_000, 20_001, 40_000, 100_000, 160_001, 1_000_000];
    assert.deepEqual(cells.map((n) => settleParams(auto, n, 'counts').epochs), [400, 110, 21, 20, 20, 10, 4, 3, 3]);
    assert.deepEqual(cells.map((n) => settleParams(auto, n, 'counts').batch_size), [64, 64, 64, 64, 128, 128, 512, 1024, 1024]);
    const fixed = settleParams(resolveParams({ epochs: 9, batch_size: 32 }), 1_000_000, 'counts');
    assert.deepEqual([fixed.epochs, fixed.batch_size], [9, 32]);
    assert.equal(settleParams(auto, 499, 'counts').component_init_epochs, 55);
    const given = settleParams(resolveParams({ epochs: 7, component_init_epochs: 0 }), 499, 'counts');
    assert.deepEqual([given.epochs, given.component_init_epochs], [7, 0]);
    assert.equal(settleParams(resolveParams({ condition_keys: ['platform', 'donor'] }), 10, 'counts').batch_key, 'platform');
    assert.equal(settleParams(resolveParams({ condition_keys: ['platform'], batch_key: 'sample' }), 10, 'counts').batch_key, 'sample');
  });

  it('n_clusters above the cells is refused unless labels set K; auto likelihood and placement: nb and Louvain with conditions on counts, mse (lognorm input) and k-means without conditions', () => {
    const settled = (params: object, values: 'counts' | 'lognorm') => {
      const s = settleParams(resolveParams(params), 100, values);
      return [s.likelihood, s.component_placement];
    };
    assert.throws(() => settleParams(resolveParams({ n_clusters: 50 }), 20, 'counts'), /"n_clusters" is 50, more than the 20 cells/);
    assert.equal(settleParams(resolveParams({ n_clusters: 50, label_key: 'cell_type' }), 20, 'counts').n_clusters, 50, 'labels set K; n_clusters is not checked');
    assert.deepEqual(settled({}, 'counts'), ['mse', 'kmeans']);
    assert.deepEqual(settled({ condition_keys: ['batch'] }, 'counts'), ['nb', 'louvain']);
    assert.deepEqual(settled({ condition_keys: ['batch'] }, 'lognorm'), ['mse', 'louvain']);
    assert.deepEqual(settled({ condition_keys: ['batch'], likelihood: 'gaussian', component_placement: 'kmeans' }, 'counts'), ['gaussian', 'kmeans']);
  });
});

describe('the one translation to each stage', () => {
  it('command-line words become preprocessing options through the schema', () => {
    const words = ['--min-genes', '201', '--max_genes', '2499', '--max-pct-mito', '5', '--min-cells', '3', '--target-sum', 'median', '--flavor', 'seurat', '--n-top-genes', 'null', '--batch-key', 'sample', '--exclude-highly-expressed', '--log-base', '2'];
    const options = preprocessOptions(resolveParams(paramsFromArgs(words)));
    assert.deepEqual(options, {
      minGenes: 201, maxGenes: 2499, minCounts: undefined, maxCounts: undefined, maxPctMito: 5, minCells: 3, targetSum: 'median', excludeHighlyExpressed: true, maxFraction: 0.05, logBase: 2,
      flavor: 'seurat', nTopGenes: undefined, minMean: 0.0125, maxMean: 3, minDisp: 0.5, maxDisp: Infinity, nBins: 20, span: 0.3, batchKey: 'sample',
    });
    assert.throws(() => resolveParams(paramsFromArgs(['--min-genes', 'many'])), /"min_genes" must be integer,null/);
    assert.throws(() => resolveParams(paramsFromArgs(['--flavor', 'vst'])), /"flavor" must be equal to one of the allowed values/);
    assert.throws(() => resolveParams(paramsFromArgs(['--min-gene', '3'])), /unknown parameter "min_gene"/);
  });

  it('the preprocess keys are exactly what readOptions and preprocessOptions read', () => {
    const base = resolveParams({});
    const changed: Record<string, unknown> = {
      n_clusters: 4, resolution: 1, latent_dim: 3, w_dim: 2, hidden: [8], likelihood: 'nb', scale: true, center_by_condition: false, label_key: 'x', dirichlet_alpha: 0.5, epochs: 3, schedule: 'constant',
      component_init_epochs: 1, component_placement: 'louvain', learning_rate: 0.01, batch_size: 16, seed: 9, n_neighbors: 5, min_dist: 0.1, spread: 2, markers_n: 3,
    };
    const outside = PARAM_KEYS.filter((k) => !(PREPROCESS_KEYS as readonly string[]).includes(k) && k !== 'condition_keys');
    assert.deepEqual(outside.sort(), Object.keys(changed).sort());
    for (const [key, value] of Object.entries(changed)) {
      const other = resolveParams({ [key]: value });
      assert.deepEqual([readOptions(other), preprocessOptions(other)], [readOptions(base), preprocessOptions(base)], `${key} changed the preprocessing`);
    }
  });

  it('the model, UMAP and marker options keep the parameter names, camelCased', () => {
    const params = settleParams(resolveParams({ latent_dim: 12, w_dim: 3, hidden: [64, 32], likelihood: 'nb', dirichlet_alpha: 0.7, epochs: 30, schedule: 'constant', learning_rate: 0.002, batch_size: 32, seed: 5, component_placement: 'louvain', n_neighbors: 10, min_dist: 0.2, spread: 1.5, markers_n: 7, log_base: 2 }), 100, 'counts');
    const { network, training } = fitConfig(params, 6);
    assert.deepEqual([network.nClusters, network.latentDim, network.wDim, network.hidden, network.likelihood, network.dirichletAlpha], [6, 12, 3, [64, 32], 'nb', 0.7]);
    assert.deepEqual([training.epochs, training.schedule, training.batchSize, training.seed, training.componentInitEpochs, training.componentPlacement], [30, { kind: 'constant', rate: 0.002 }, 32, 5, 15, 'louvain']);
    assert.equal(training.resolution, null, 'labels fix K');
    const auto = fitConfig(settleParams(resolveParams({ resolution: 0.8 }), 100, 'counts'), null);
    assert.deepEqual([auto.training.resolution, auto.network.nClusters], [0.8, 10], "'auto': the placement's communities at the resolution choose K after a warm-up with 10");
    const fixed = fitConfig(settleParams(resolveParams({ n_clusters: 7, resolution: 0.8 }), 100, 'counts'), null);
    assert.deepEqual([fixed.training.resolution, fixed.network.nClusters], [null, 7]);
    assert.deepEqual(umapOptions(params), { nNeighbors: 10, minDist: 0.2, spread: 1.5, seed: 5 });
    assert.deepEqual(markerOptions(params), { nTop: 7, logBase: 2 });
  });
});
