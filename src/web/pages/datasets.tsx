/** Your datasets: upload (with progress; a file dropped anywhere on the page works too), what the reader found, delete. */
import { useEffect, useState } from 'preact/hooks';
import { explain, getJson, sendJson, type DatasetJson } from '../api.js';
import { Facts } from '../facts.js';
import { bytes, count, when } from '../format.js';
import { href } from '../route.js';
import type { UploadProgress } from '../upload.js';

export interface UploadState {
  id: number;
  name: string;
  progress: UploadProgress | null;
  /** Set once the file has arrived and the server is reading it. */
  inspecting: boolean;
  error: string | null;
}

function UploadRow({ upload, onDismiss }: { upload: UploadState; onDismiss: () => void }) {
  const { progress } = upload;
  const share = progress && progress.total ? progress.loaded / progress.total : 0;
  return (
    <li class="upload" data-testid="upload">
      <span class="filename">{upload.name}</span>{' '}
      {upload.error ? (
        <>
          <span class="error" role="alert">
            {upload.error}
          </span>{' '}
          <button type="button" class="link" onClick={onDismiss}>
            dismiss
          </button>
        </>
      ) : upload.inspecting ? (
        <span>uploaded; reading the file…</span>
      ) : (
        <>
          <progress max={1} value={share} />{' '}
          <span class="muted">{progress ? `${bytes(progress.loaded)} of ${bytes(progress.total)} (${Math.round(share * 100)} %), ${bytes(progress.rate)}/s` : 'starting…'}</span>
        </>
      )}
    </li>
  );
}

function Summary({ inspect }: { inspect: DatasetJson['inspect'] }) {
  const rows: [string, string][] = [
    ['format', inspect.format ?? '–'],
    ['cells', inspect.n_obs !== undefined ? count(inspect.n_obs) : '–'],
    ['genes', inspect.n_vars !== undefined ? count(inspect.n_vars) : '–'],
    ['stored values', inspect.nnz !== undefined ? count(inspect.nnz) : '–'],
    ['matrix', inspect.matrix ?? '–'],
    ['values', inspect.values ?? '–'],
    ['obs columns', inspect.obs_columns?.length ? inspect.obs_columns.join(', ') : 'none'],
  ];
  if (inspect.feature_types) rows.push(['feature types', Object.entries(inspect.feature_types).map(([type, n]) => `${type}: ${count(n)}`).join(', ')]);
  if (inspect.genomes?.length) rows.push(['genomes', inspect.genomes.join(', ')]);
  if (inspect.renamed_genes) rows.push(['renamed genes', `${count(inspect.renamed_genes)} duplicate names made unique`]);
  return <Facts rows={rows} />;
}

function DatasetCard({ dataset, onDeleted }: { dataset: DatasetJson; onDeleted: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const remove = async () => {
    setFailure(null);
    try {
      await sendJson('DELETE', `/datasets/${encodeURIComponent(dataset.id)}`);
      onDeleted();
    } catch (error) {
      setConfirming(false);
      const conflict = (error as { status?: number }).status === 409;
      setFailure(conflict ? `This dataset cannot be deleted yet: ${(error as Error).message}.` : explain(error));
    }
  };
  return (
    <li class="panel dataset" data-testid="dataset" data-id={dataset.id}>
      <h3 class="filename">{dataset.filename}</h3>
      <p class="muted">
        {bytes(dataset.bytes)}, uploaded {when(dataset.created_at)}
      </p>
      <Summary inspect={dataset.inspect} />
      <div class="actions">
        <a class="button" href={href({ page: 'analyse', datasetId: dataset.id })}>
          New analysis
        </a>
        {confirming ? (
          <>
            <button type="button" class="danger" onClick={remove}>
              Really delete
            </button>
            <button type="button" onClick={() => setConfirming(false)}>
              Keep
            </button>
          </>
        ) : (
          <button type="button" onClick={() => setConfirming(true)}>
            Delete
          </button>
        )}
      </div>
      {failure && (
        <p class="error" role="alert">
          {failure}
        </p>
      )}
    </li>
  );
}

export function Datasets({ uploads, onFile, onDismiss, refresh }: { uploads: UploadState[]; onFile: (file: File) => void; onDismiss: (id: number) => void; refresh: number }) {
  const [datasets, setDatasets] = useState<DatasetJson[] | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [reload, setReload] = useState(0);

  useEffect(() => {
    getJson<{ datasets: DatasetJson[] }>('/datasets?limit=200').then(
      (body) => {
        setDatasets(body.datasets);
        setFailure(null);
      },
      (error: unknown) => setFailure(explain(error)),
    );
  }, [refresh, reload]);

  return (
    <main>
      <h2>Datasets</h2>
      <section class="panel dropzone">
        <label class="button">
          Upload a dataset…
          <input
            type="file"
            name="dataset"
            class="visually-hidden"
            onChange={(event) => {
              const input = event.currentTarget as HTMLInputElement;
              for (const file of Array.from(input.files ?? [])) onFile(file);
              input.value = '';
            }}
          />
        </label>{' '}
        <span class="muted">or drop a file anywhere on this page: .h5ad, 10x .h5, or a 10x MTX folder as .tar.gz or .zip.</span>
        {uploads.length > 0 && (
          <ul class="uploads">
            {uploads.map((upload) => (
              <UploadRow key={upload.id} upload={upload} onDismiss={() => onDismiss(upload.id)} />
            ))}
          </ul>
        )}
      </section>
      {failure && (
        <p class="error" role="alert">
          {failure}
        </p>
      )}
      {datasets && datasets.length === 0 && <p class="muted">No datasets yet: upload one to start.</p>}
      <ul class="datasets">
        {datasets?.map((dataset) => (
          <DatasetCard key={dataset.id} dataset={dataset} onDeleted={() => setReload((n) => n + 1)} />
        ))}
      </ul>
    </main>
  );
}
