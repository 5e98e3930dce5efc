/**
 * What the run did, from manifest.json: the fields every run records, then any other field (such as metrics a later
 * version adds) shown generically, so new manifest entries appear without a change here.
 */
import { Facts } from '../facts.js';
import { bytes, count, duration, number } from '../format.js';

export type Manifest = Record<string, unknown>;

/** Fields shown in the summary table or not worth showing; every other top-level field gets a panel of its own. */
const KNOWN = new Set([
  'scgmdvae_version', 'tfjs_version', 'backend', 'started_at', 'finished_at', 'input', 'cells', 'genes', 'clusters', 'training',
  'params', 'seed', 'stage_seconds', 'total_seconds', 'peak_rss_mb', 'warnings', 'outputs',
]);

/** Any JSON value as nested text (never HTML). */
function Value({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span class="muted">–</span>;
  if (typeof value === 'number') return <span>{number(value)}</span>;
  if (typeof value !== 'object') return <span>{String(value)}</span>;
  if (Array.isArray(value)) {
    return value.every((item) => typeof item !== 'object' || item === null) ? <span>{value.map((item) => (typeof item === 'number' ? number(item) : String(item))).join(', ')}</span> : <ol>{value.map((item, i) => <li key={i}><Value value={item} /></li>)}</ol>;
  }
  return (
    <dl class="tree">
      {Object.entries(value as Record<string, unknown>).map(([key, item]) => (
        <div key={key}>
          <dt>{key}</dt>
          <dd>
            <Value value={item} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

export function Summary({ manifest }: { manifest: Manifest }) {
  const m = manifest as {
    cells?: { input: number; kept: number };
    genes?: { input: number; kept: number; highly_variable: number };
    clusters?: { count: number };
    training?: { epochs: number; best_epoch: number; stopped_early: boolean; nan_rollbacks: number };
    backend?: string;
    scgmdvae_version?: string;
    total_seconds?: number;
    peak_rss_mb?: number;
    stage_seconds?: Record<string, number>;
    warnings?: string[];
    params?: Record<string, unknown>;
    input?: { format: string; sha256: string };
  };
  const rows: [string, string][] = [
    ['cells kept', m.cells ? `${count(m.cells.kept)} of ${count(m.cells.input)}` : '–'],
    ['genes kept', m.genes ? `${count(m.genes.kept)} of ${count(m.genes.input)} (${count(m.genes.highly_variable)} highly variable)` : '–'],
    ['clusters', m.clusters ? String(m.clusters.count) : '–'],
    ['training', m.training ? `${m.training.epochs} epochs, best ${m.training.best_epoch + 1}${m.training.stopped_early ? ', stopped early' : ''}${m.training.nan_rollbacks ? `, ${m.training.nan_rollbacks} NaN rollbacks` : ''}` : '–'],
    ['run time', m.total_seconds !== undefined ? duration(m.total_seconds) : '–'],
    ['stages', m.stage_seconds ? Object.entries(m.stage_seconds).map(([stage, s]) => `${stage} ${number(s)} s`).join(', ') : '–'],
    ['peak memory', m.peak_rss_mb !== undefined ? bytes(m.peak_rss_mb * 1024 * 1024) : '–'],
    ['backend', `${m.backend ?? '–'} (scgmdvae ${m.scgmdvae_version ?? '?'})`],
    ['input', m.input ? `${m.input.format}, sha256 ${m.input.sha256.slice(0, 12)}…` : '–'],
  ];
  const extra = Object.entries(manifest).filter(([key]) => !KNOWN.has(key));
  return (
    <section class="panel" aria-labelledby="summary-title">
      <h3 id="summary-title">Run summary</h3>
      <Facts rows={rows} />
      {m.warnings && m.warnings.length > 0 && (
        <div class="warnings">
          <h4>Warnings</h4>
          <ul>{m.warnings.map((warning, i) => <li key={i}>{warning}</li>)}</ul>
        </div>
      )}
      <div class="metrics" data-testid="manifest-metrics">
        {extra.map(([key, value]) => (
          <div key={key}>
            <h4>{key}</h4>
            <Value value={value} />
          </div>
        ))}
      </div>
      {m.params && (
        <details>
          <summary>Parameters of this run</summary>
          <Value value={m.params} />
        </details>
      )}
    </section>
  );
}
