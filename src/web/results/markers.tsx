/** The marker genes of one cluster (markers.csv), sortable by any column; a gene's name colours the UMAP by it. */
import { useMemo, useState } from 'preact/hooks';
import { number } from '../format.js';
import { MARKER_NUMBERS, type MarkerRow } from './tables.js';

type SortKey = 'gene' | (typeof MARKER_NUMBERS)[number];

const COLUMNS: [SortKey, string][] = [
  ['rank', 'rank'],
  ['gene', 'gene'],
  ['score', 'score'],
  ['logfoldchange', 'log fold change'],
  ['pval_adj', 'adjusted p'],
  ['pct_in', 'in cluster'],
  ['pct_out', 'elsewhere'],
];

export function Markers({ rows, clusters, onGene, activeGene }: { rows: MarkerRow[]; clusters: readonly string[]; onGene: (gene: string) => void; activeGene: string | null }) {
  const [cluster, setCluster] = useState(clusters[0] ?? '');
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: 'rank', descending: false });
  const shown = useMemo(() => {
    const picked = rows.filter((row) => row.cluster === cluster);
    const { key, descending } = sort;
    const sign = descending ? -1 : 1;
    return picked.sort((a, b) => sign * (key === 'gene' ? a.gene.localeCompare(b.gene) : (a[key] as number) - (b[key] as number)));
  }, [rows, cluster, sort]);
  const sortBy = (key: SortKey) => setSort((now) => ({ key, descending: now.key === key ? !now.descending : key !== 'rank' && key !== 'gene' && key !== 'pval_adj' }));

  return (
    <section class="panel" aria-labelledby="markers-title">
      <h3 id="markers-title">Marker genes</h3>
      <label class="inline">
        Cluster{' '}
        <select value={cluster} onChange={(event) => setCluster((event.currentTarget as HTMLSelectElement).value)} name="marker-cluster">
          {clusters.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <span class="muted"> Wilcoxon rank-sum against all other cells; click a gene to colour the UMAP by it.</span>
      <div class="table-scroll">
        <table class="markers">
          <thead>
            <tr>
              {COLUMNS.map(([key, label]) => (
                <th key={key} aria-sort={sort.key === key ? (sort.descending ? 'descending' : 'ascending') : 'none'}>
                  <button type="button" class="link" onClick={() => sortBy(key)}>
                    {label}
                    {sort.key === key ? (sort.descending ? ' ▼' : ' ▲') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((row) => (
              <tr key={row.gene} class={row.gene === activeGene ? 'active' : ''}>
                <td>{row.rank}</td>
                <td>
                  <button type="button" class="link gene" onClick={() => onGene(row.gene)}>
                    {row.gene}
                  </button>
                </td>
                <td>{number(row.score)}</td>
                <td>{number(row.logfoldchange)}</td>
                <td>{number(row.pval_adj)}</td>
                <td>{`${Math.round(row.pct_in * 100)} %`}</td>
                <td>{`${Math.round(row.pct_out * 100)} %`}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {shown.length === 0 && <p class="muted">No marker genes for this cluster.</p>}
      </div>
    </section>
  );
}
