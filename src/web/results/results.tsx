/**
 * The results of a complete job: the UMAP coloured by cluster, a condition, a QC metric or a gene; the legend and
 * the lasso selection; marker genes; training curves and QC distributions; the run summary; the downloads.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { parseCsvRecords } from '../../io/csv.js';
import { decodeEmbedding, type CellColumn, type EmbeddingTable } from '../../io/embedding-file.js';
import { explain, getBytes, request, type JobJson } from '../api.js';
import { count, number } from '../format.js';
import { categoryColors, valueRange } from './colors.js';
import { Downloads } from './downloads.js';
import { GeneSearch } from './gene-search.js';
import { CategoryLegend, ColorBar } from './legend.js';
import { Markers } from './markers.js';
import { Histogram, LossPlots } from './plots.js';
import type { Coloring } from './scatter-gl.js';
import { ScatterView } from './scatter-view.js';
import { Summary, type Manifest } from './summary.js';
import { markerRows, trainingCurves, type MarkerRow, type TrainingCurves } from './tables.js';

type ColorBy = { kind: 'column'; name: string } | { kind: 'gene'; gene: string; values: Float32Array };

interface Loaded {
  /** null when the embedding cannot be read (results older than embedding.bin): the other panels still show. */
  table: EmbeddingTable | null;
  tableProblem: string | null;
  markers: MarkerRow[] | null;
  curves: TrainingCurves | null;
  manifest: Manifest | null;
}

/** The optional panels' files: a job that lacks one still shows the rest. */
async function resultText(jobId: string, name: string): Promise<string | null> {
  try {
    return await (await request(`/jobs/${encodeURIComponent(jobId)}/results/${name}`)).text();
  } catch {
    return null;
  }
}

async function load(jobId: string): Promise<Loaded> {
  const id = encodeURIComponent(jobId);
  const embedding = getBytes(`/jobs/${id}/embedding`).then(
    (buffer) => ({ table: decodeEmbedding(buffer), tableProblem: null }),
    (error: unknown) => ({ table: null, tableProblem: explain(error) }),
  );
  const [{ table, tableProblem }, markers, training, manifest] = await Promise.all([embedding, resultText(jobId, 'markers.csv'), resultText(jobId, 'training.csv'), resultText(jobId, 'manifest.json')]);
  return {
    table,
    tableProblem,
    markers: markers === null ? null : markerRows(parseCsvRecords(markers)),
    curves: training === null ? null : trainingCurves(parseCsvRecords(training)),
    manifest: manifest === null ? null : (JSON.parse(manifest) as Manifest),
  };
}

function formatCell(column: CellColumn, cell: number): string {
  if (column.kind === 'categorical') return column.categories[column.codes[cell]!] ?? '(none)';
  return number(column.values[cell]!);
}

export function Results({ job }: { job: JobJson }) {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [colorBy, setColorBy] = useState<ColorBy>({ kind: 'column', name: 'cluster' });
  const [hidden, setHidden] = useState<ReadonlySet<number>>(new Set());
  const [selection, setSelection] = useState<{ mask: Uint8Array; count: number } | null>(null);
  const [lasso, setLasso] = useState(false);
  const [geneError, setGeneError] = useState<string | null>(null);
  const expression = useRef(new Map<string, Float32Array>());

  useEffect(() => {
    let live = true;
    load(job.id).then(
      (result) => live && setLoaded(result),
      (error: unknown) => live && setFailure(explain(error)),
    );
    return () => {
      live = false;
    };
  }, [job.id]);

  const table = loaded?.table;
  const column = table && colorBy.kind === 'column' ? table.columns.find((c) => c.name === colorBy.name) : undefined;
  const cluster = table?.columns.find((c) => c.role === 'cluster');

  const coloring = useMemo((): Coloring | null => {
    if (!table) return null;
    if (colorBy.kind === 'gene') return { kind: 'continuous', values: colorBy.values, range: valueRange(colorBy.values) };
    if (!column) return null;
    if (column.kind === 'numeric') return { kind: 'continuous', values: column.values, range: valueRange(column.values) };
    return { kind: 'categorical', codes: column.codes, colors: categoryColors(column.categories.length), hidden };
  }, [table, colorBy, column, hidden]);

  const sizes = useMemo(() => {
    if (!column || column.kind !== 'categorical') return [];
    const counts = new Array<number>(column.categories.length).fill(0);
    for (const code of column.codes) if (code >= 0) counts[code]!++;
    return counts;
  }, [column]);

  const visible = useMemo(() => {
    if (!coloring || coloring.kind !== 'categorical' || hidden.size === 0) return () => true;
    const codes = coloring.codes;
    return (cell: number) => !hidden.has(codes[cell]!);
  }, [coloring, hidden]);

  const visibleCount = useMemo(() => {
    if (!table) return 0;
    if (!coloring || coloring.kind !== 'categorical' || hidden.size === 0) return table.nCells;
    let n = 0;
    for (let cell = 0; cell < table.nCells; cell++) if (visible(cell)) n++;
    return n;
  }, [table, coloring, hidden, visible]);

  if (failure) return <p class="error">The results could not be loaded: {failure}</p>;
  if (!loaded) return <p class="muted">Loading the results…</p>;

  const chooseColumn = (name: string) => {
    setColorBy({ kind: 'column', name });
    setHidden(new Set());
  };

  const chooseGene = async (gene: string) => {
    setGeneError(null);
    try {
      let values = expression.current.get(gene);
      if (!values) {
        values = new Float32Array(await getBytes(`/jobs/${encodeURIComponent(job.id)}/expression?gene=${encodeURIComponent(gene)}`));
        expression.current.set(gene, values);
      }
      setColorBy({ kind: 'gene', gene, values });
      setHidden(new Set());
    } catch (error) {
      setGeneError(explain(error));
    }
  };

  const describe = (cell: number): [string, string][] => [
    ['cell', table!.barcode(cell)],
    ...table!.columns.map((c): [string, string] => [c.name, formatCell(c, cell)]),
    ...(colorBy.kind === 'gene' ? [[colorBy.gene, number(colorBy.values[cell]!)] as [string, string]] : []),
  ];

  const toggle = (category: number) =>
    setHidden((now) => {
      const next = new Set(now);
      if (!next.delete(category)) next.add(category);
      return next;
    });
  const showOnly = (category: number | null) =>
    setHidden(category === null || !column || column.kind !== 'categorical' ? new Set() : new Set(column.categories.map((_, i) => i).filter((i) => i !== category)));

  const selectionByCluster = (() => {
    if (!selection || !cluster || cluster.kind !== 'categorical') return [];
    const counts = new Array<number>(cluster.categories.length).fill(0);
    selection.mask.forEach((selected, cell) => {
      if (selected && cluster.codes[cell]! >= 0) counts[cluster.codes[cell]!]!++;
    });
    return counts.map((n, i) => [cluster.categories[i]!, n] as const).filter(([, n]) => n > 0);
  })();

  // The clusters, from the embedding, or from markers.csv (in its order) when the embedding cannot be read.
  const clusterNames = cluster?.kind === 'categorical' ? cluster.categories : [...new Set((loaded.markers ?? []).map((row) => row.cluster))];
  const numericColumns = (table?.columns ?? []).filter((c): c is Extract<CellColumn, { kind: 'numeric' }> => c.kind === 'numeric');

  return (
    <div class="results">
      {!table || !coloring ? (
        <section class="panel">
          <h3>UMAP</h3>
          <p class="error">The UMAP cannot be shown: {loaded.tableProblem ?? 'the embedding has no cluster column'}</p>
        </section>
      ) : (
        <section class="panel explore" aria-labelledby="umap-title">
          <h3 id="umap-title">UMAP of {count(table.nCells)} cells</h3>
          <div class="toolbar">
            <label class="inline">
              Colour by{' '}
              <select name="color-by" value={colorBy.kind === 'column' ? colorBy.name : ''} onChange={(event) => chooseColumn((event.currentTarget as HTMLSelectElement).value)}>
                {colorBy.kind === 'gene' && <option value="">gene {colorBy.gene}</option>}
                {table.columns.map((c) => (
                  <option key={c.name} value={c.name}>
                    {c.name}
                    {c.role === 'condition' ? ' (condition)' : c.role === 'label' ? ' (label)' : c.role === 'qc' ? ' (QC)' : ''}
                  </option>
                ))}
              </select>
            </label>
            <GeneSearch jobId={job.id} onGene={chooseGene} />
            <button type="button" aria-pressed={lasso} class={lasso ? 'toggle on' : 'toggle'} onClick={() => setLasso(!lasso)}>
              Lasso
            </button>
          </div>
          {geneError && <p class="error">{geneError}</p>}
          <div class="explore-body">
            <ScatterView table={table} coloring={coloring} visible={visible} visibleCount={visibleCount} describe={describe} selection={selection?.mask ?? null} onSelect={setSelection} lasso={lasso} />
            <aside class="side">
              {coloring.kind === 'categorical' && column?.kind === 'categorical' ? (
                <CategoryLegend title={column.name} categories={column.categories} colors={coloring.colors} sizes={sizes} hidden={hidden} onToggle={toggle} onShowOnly={showOnly} />
              ) : (
                <ColorBar title={colorBy.kind === 'gene' ? `${colorBy.gene} (log-normalised)` : colorBy.name} range={coloring.kind === 'continuous' ? coloring.range : [0, 1]} />
              )}
              <div class="selection" aria-live="polite">
                {selection ? (
                  <>
                    <p>
                      <strong data-testid="selected-count">{count(selection.count)}</strong> cells selected
                    </p>
                    {selectionByCluster.length > 0 && (
                      <ul class="compact">
                        {selectionByCluster.map(([name, n]) => (
                          <li key={name}>
                            cluster {name}: {count(n)}
                          </li>
                        ))}
                      </ul>
                    )}
                    <button type="button" class="link" onClick={() => setSelection(null)}>
                      Clear selection
                    </button>
                  </>
                ) : (
                  <p class="muted">No cells selected.</p>
                )}
              </div>
            </aside>
          </div>
        </section>
      )}

      {loaded.markers && <Markers rows={loaded.markers} clusters={clusterNames} onGene={chooseGene} activeGene={colorBy.kind === 'gene' ? colorBy.gene : null} />}

      <section class="panel" aria-labelledby="training-title">
        <h3 id="training-title">Training</h3>
        {loaded.curves ? <LossPlots curves={loaded.curves} /> : <p class="muted">No training.csv.</p>}
      </section>

      {numericColumns.length > 0 && (
        <section class="panel" aria-labelledby="qc-title">
          <h3 id="qc-title">Quality control</h3>
          <div class="plots">
            {numericColumns.map((c) => (
              <Histogram key={c.name} name={c.name} values={c.values} />
            ))}
          </div>
        </section>
      )}

      {loaded.manifest && <Summary manifest={loaded.manifest} />}
      {job.links.results && <Downloads jobId={job.id} results={job.links.results} />}
    </div>
  );
}
