/** The new-analysis form generated from the parameter schema: fields, defaults, what is sent, where 422s go. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pipelineParamsSchema, resolveParams } from '../../src/pipeline/params.js';
import { fieldsOf, initialRaw, MAIN_PARAMS, paramsFrom, problemsByField, type ParamsSchema } from '../../src/web/pages/schema-form.js';

const fields = fieldsOf(pipelineParamsSchema as unknown as ParamsSchema);
const field = (key: string) => fields.find((f) => f.key === key)!;
const initial = () => Object.fromEntries(fields.map((f) => [f.key, initialRaw(f)]));

test('one field per schema parameter, in its order, each with a description; only the main ones unfolded', () => {
  assert.deepEqual(
    fields.map((f) => f.key),
    Object.keys(pipelineParamsSchema.properties),
  );
  for (const f of fields) assert.ok(f.description.length > 10, `${f.key} has a description`);
  assert.deepEqual(
    fields.filter((f) => !f.advanced).map((f) => f.key).sort(),
    [...MAIN_PARAMS].sort(),
  );
});

test('each parameter gets the input its schema calls for, with its bounds and default', () => {
  const kinds = Object.fromEntries(['condition_keys', 'label_key', 'batch_key', 'flavor', 'scale', 'hidden', 'target_sum', 'epochs', 'layer'].map((key) => [key, field(key).kind]));
  assert.deepEqual(kinds, {
    condition_keys: 'columns',
    label_key: 'column',
    batch_key: 'column',
    flavor: 'choice',
    scale: 'boolean',
    hidden: 'numbers',
    target_sum: 'number',
    epochs: 'number',
    layer: 'text',
  });
  assert.deepEqual(field('target_sum').words, ['median']);
  assert.equal(field('n_clusters').bounds, '≥ 2 and ≤ 200');
  assert.equal(field('hidden').bounds, '≥ 4 and ≤ 4096');
  assert.equal(field('max_fraction').bounds, '> 0 and ≤ 1');
  assert.equal(field('epochs').nullable, true);
  assert.equal(field('hidden').integer, true);
  assert.equal(initialRaw(field('hidden')), '256, 256');
  assert.equal(initialRaw(field('epochs')), '');
  assert.deepEqual(initialRaw(field('condition_keys')), []);
});

test('an untouched form sends no parameters: the server applies the schema defaults', () => {
  assert.deepEqual(paramsFrom(fields, initial()), { params: {}, errors: {} });
});

test('edits are sent as the schema types them, and the API accepts them', () => {
  const raws = { ...initial(), condition_keys: ['platform'], n_clusters: '3', hidden: '64 32', epochs: '2', target_sum: 'median', scale: true, label_key: 'cell_line', layer: '' };
  const { params, errors } = paramsFrom(fields, raws);
  assert.deepEqual(errors, {});
  assert.deepEqual(params, { condition_keys: ['platform'], n_clusters: 3, hidden: [64, 32], epochs: 2, target_sum: 'median', scale: true, label_key: 'cell_line' });
  assert.equal(resolveParams(params).n_clusters, 3);
});

test('what cannot be read is named beside its field; a cleared nullable field sends null', () => {
  const { params, errors } = paramsFrom(fields, { ...initial(), n_clusters: '3.5', target_sum: 'mean', hidden: '64, x', min_genes: '200', max_genes: '' });
  assert.deepEqual(errors, { n_clusters: 'expected a whole number', target_sum: 'expected a number or "median"', hidden: 'expected a number' });
  assert.deepEqual(params, { min_genes: 200 });
});

test("the API's 422 problems go to the fields they name", () => {
  const byField = problemsByField(['"epochs" must be >= 1', '"hidden.0" must be >= 4', 'unknown parameter "colour"', 'parameters must be a JSON object']);
  assert.deepEqual(Object.fromEntries(byField), {
    epochs: ['"epochs" must be >= 1'],
    hidden: ['"hidden.0" must be >= 4'],
    colour: ['unknown parameter "colour"'],
    '': ['parameters must be a JSON object'],
  });
});
