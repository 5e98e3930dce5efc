/** A new analysis of one dataset: the form generated from the parameter schema, the API's 422 shown beside the fields. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import schema from '../../../schemas/pipeline-params.schema.json';
import { ApiError, explain, getJson, sendJson, type DatasetJson, type JobJson } from '../api.js';
import { count } from '../format.js';
import { go } from '../route.js';
import { fieldsOf, initialRaw, MAIN_PARAMS, paramsFrom, problemsByField, type FieldSpec, type ParamsSchema, type RawValue } from './schema-form.js';

const FIELDS = fieldsOf(schema as unknown as ParamsSchema);

/** A random Idempotency-Key (getRandomValues, since randomUUID needs HTTPS and the service may be served over plain HTTP). */
function newIdempotencyKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function hint(field: FieldSpec): string {
  const value = field.defaultValue;
  const facts = [
    field.bounds ? `allowed: ${field.bounds}` : '',
    field.kind === 'columns' || field.kind === 'boolean' ? '' : `default: ${value === null ? 'none' : Array.isArray(value) ? value.join(', ') : String(value)}`,
  ].filter(Boolean);
  return [field.description, facts.join(' · ')].filter(Boolean).join('. ');
}

function FieldInput({ field, raw, columns, genomes, onChange }: { field: FieldSpec; raw: RawValue; columns: readonly string[]; genomes: readonly string[]; onChange: (raw: RawValue) => void }) {
  const id = `param-${field.key}`;
  const text = (event: Event) => onChange((event.currentTarget as HTMLInputElement | HTMLSelectElement).value);
  switch (field.kind) {
    case 'boolean':
      return <input id={id} name={field.key} type="checkbox" checked={raw === true} onChange={(event) => onChange((event.currentTarget as HTMLInputElement).checked)} />;
    case 'choice':
      return (
        <select id={id} name={field.key} value={String(raw)} onChange={text}>
          {field.choices.map((choice) => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </select>
      );
    case 'column':
      return (
        <select id={id} name={field.key} value={String(raw)} onChange={text}>
          <option value="">{field.key === 'batch_key' ? '(the first condition)' : '(none)'}</option>
          {columns.map((column) => (
            <option key={column} value={column}>
              {column}
            </option>
          ))}
        </select>
      );
    case 'columns': {
      const chosen = Array.isArray(raw) ? raw : [];
      if (columns.length === 0) return <span class="muted">this dataset has no obs columns</span>;
      return (
        <fieldset id={id} class="checks">
          {columns.map((column) => (
            <label key={column} class="check">
              <input
                type="checkbox"
                name={field.key}
                value={column}
                checked={chosen.includes(column)}
                onChange={(event) => onChange((event.currentTarget as HTMLInputElement).checked ? [...chosen, column] : chosen.filter((c) => c !== column))}
              />{' '}
              {column}
            </label>
          ))}
        </fieldset>
      );
    }
    default:
      if (field.key === 'genome' && genomes.length > 1) {
        return (
          <select id={id} name={field.key} value={String(raw)} onChange={text}>
            <option value="">(the only or first genome)</option>
            {genomes.map((genome) => (
              <option key={genome} value={genome}>
                {genome}
              </option>
            ))}
          </select>
        );
      }
      return <input id={id} name={field.key} type="text" inputMode={field.kind === 'number' ? 'decimal' : undefined} value={String(raw)} onInput={text} placeholder={field.nullable ? 'none' : ''} />;
  }
}

function Field(props: { field: FieldSpec; raw: RawValue; errors: readonly string[]; columns: readonly string[]; genomes: readonly string[]; onChange: (raw: RawValue) => void }) {
  const { field, errors } = props;
  return (
    <div class={errors.length ? 'field invalid' : 'field'} data-field={field.key}>
      <label for={`param-${field.key}`}>
        <code>{field.key}</code>
      </label>
      <FieldInput {...props} />
      <p class="hint">{hint(field)}</p>
      {errors.map((error, i) => (
        <p key={i} class="error field-error" role="alert">
          {error}
        </p>
      ))}
    </div>
  );
}

export function NewAnalysis({ datasetId }: { datasetId: string }) {
  const [dataset, setDataset] = useState<DatasetJson | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [raws, setRaws] = useState<Record<string, RawValue>>(() => Object.fromEntries(FIELDS.map((field) => [field.key, initialRaw(field)])));
  const [errors, setErrors] = useState<Map<string, string[]>>(new Map());
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  // One key per filled-in form: a double click or a retry after a lost answer submits one job, not two.
  const [idempotencyKey, setIdempotencyKey] = useState(() => newIdempotencyKey());

  useEffect(() => {
    getJson<DatasetJson>(`/datasets/${encodeURIComponent(datasetId)}`).then(setDataset, (error: unknown) => setFailure(explain(error)));
  }, [datasetId]);

  const main = useMemo(() => MAIN_PARAMS.map((key) => FIELDS.find((field) => field.key === key)!), []);
  const advanced = useMemo(() => FIELDS.filter((field) => field.advanced), []);

  if (failure) return <main><p class="error" role="alert">{failure}</p></main>;
  if (!dataset) return <main><p class="muted">Loading the dataset…</p></main>;

  const columns = dataset.inspect.obs_columns ?? [];
  const genomes = dataset.inspect.genomes ?? [];
  const change = (key: string) => (raw: RawValue) => {
    setRaws((now) => ({ ...now, [key]: raw }));
    setIdempotencyKey(newIdempotencyKey());
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    const { params, errors: unread } = paramsFrom(FIELDS, raws);
    const local = new Map(Object.entries(unread).map(([key, message]) => [key, [message]]));
    setErrors(local);
    if (local.size) {
      if (advanced.some((field) => local.has(field.key))) setAdvancedOpen(true);
      return;
    }
    setBusy(true);
    try {
      const job = (await sendJson<JobJson>('POST', '/jobs', { dataset_id: dataset.id, params }, { 'idempotency-key': idempotencyKey }))!;
      go({ page: 'job', jobId: job.id });
    } catch (error) {
      const problems = error instanceof ApiError && error.status === 422 && error.problem.problems?.length ? error.problem.problems : null;
      const byField = problems ? problemsByField(problems) : new Map([['', [explain(error)]]]);
      setErrors(byField);
      if (advanced.some((field) => byField.has(field.key))) setAdvancedOpen(true);
    } finally {
      setBusy(false);
    }
  };

  const field = (spec: FieldSpec) => <Field key={spec.key} field={spec} raw={raws[spec.key]!} errors={errors.get(spec.key) ?? []} columns={columns} genomes={genomes} onChange={change(spec.key)} />;
  const general = errors.get('') ?? [];

  return (
    <main>
      <h2>New analysis</h2>
      <p>
        of <span class="filename">{dataset.filename}</span> ({count(dataset.inspect.n_obs ?? 0)} cells, {count(dataset.inspect.n_vars ?? 0)} genes). Every parameter starts at its default; only the ones you change are sent.
      </p>
      <form class="panel params" onSubmit={submit} noValidate>
        {main.map(field)}
        <details open={advancedOpen} onToggle={(event) => setAdvancedOpen((event.currentTarget as HTMLDetailsElement).open)}>
          <summary>Advanced parameters ({advanced.length})</summary>
          {advanced.map(field)}
        </details>
        {general.map((message, i) => (
          <p key={i} class="error" role="alert">
            {message}
          </p>
        ))}
        <button type="submit" disabled={busy}>
          {busy ? 'Submitting…' : 'Start the analysis'}
        </button>
      </form>
    </main>
  );
}
