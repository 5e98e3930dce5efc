/** Every result file, downloaded with the key in the Authorization header (a plain link could not send it). */
import { useState } from 'preact/hooks';
import { explain, request } from '../api.js';
import { bytes } from '../format.js';

const DESCRIPTIONS: Record<string, string> = {
  'result.h5ad': 'AnnData for scanpy and CELLxGENE: clusters, latents, UMAP, markers',
  'cells.csv': 'one row per cell: cluster, probability, UMAP, conditions, QC',
  'markers.csv': 'marker genes per cluster',
  'latent.csv': 'latent space μ_z per cell',
  'training.csv': 'loss terms per epoch',
  'umap.png': 'UMAP by cluster',
  'loss.png': 'training curves',
  'embedding.bin': 'what this page draws (binary, see the README)',
  'expression.bin': 'expression by gene (binary, see the README)',
  'manifest.json': 'parameters, versions, timings',
};

async function save(jobId: string, name: string, url: string, onProgress: (loaded: number) => void): Promise<void> {
  const response = await request(url.replace(/^\/v1/, ''));
  const reader = response.body!.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded);
  }
  const blob = new Blob(chunks as BlobPart[], { type: response.headers.get('content-type') ?? 'application/octet-stream' });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = `${jobId}-${name}`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

export function Downloads({ jobId, results }: { jobId: string; results: Record<string, string> }) {
  const [state, setState] = useState<Record<string, string>>({});
  const start = (name: string, url: string) => {
    setState((s) => ({ ...s, [name]: 'starting…' }));
    save(jobId, name, url, (loaded) => setState((s) => ({ ...s, [name]: `${bytes(loaded)}…` }))).then(
      () => setState((s) => ({ ...s, [name]: 'saved' })),
      (error: unknown) => setState((s) => ({ ...s, [name]: explain(error) })),
    );
  };
  return (
    <section class="panel" aria-labelledby="downloads-title">
      <h3 id="downloads-title">Downloads</h3>
      <ul class="downloads">
        {Object.entries(results).map(([name, url]) => (
          <li key={name}>
            <button type="button" onClick={() => start(name, url)} data-file={name}>
              {name}
            </button>{' '}
            <span class="muted">{DESCRIPTIONS[name] ?? (name.startsWith('umap_') ? 'UMAP by a condition' : '')}</span> <span class="status">{state[name] ?? ''}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
