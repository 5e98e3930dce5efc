/** A searchable gene box: the job's gene names load once, on first focus; names starting with the text come first. */
import { useState } from 'preact/hooks';
import { explain, getJson } from '../api.js';
import { matchGenes } from './tables.js';

export function GeneSearch({ jobId, onGene }: { jobId: string; onGene: (gene: string) => void }) {
  const [genes, setGenes] = useState<string[] | null>(null);
  const [text, setText] = useState('');
  const [failure, setFailure] = useState<string | null>(null);
  const [open, setOpen] = useState(false);

  const loadGenes = () => {
    if (genes) return;
    getJson<{ genes: string[] }>(`/jobs/${encodeURIComponent(jobId)}/genes`).then(
      (body) => setGenes(body.genes),
      (error: unknown) => setFailure(explain(error)),
    );
  };
  const matches = genes ? matchGenes(genes, text) : [];
  const pick = (gene: string) => {
    setText(gene);
    setOpen(false);
    onGene(gene);
  };

  return (
    <div class="gene-search">
      <label class="inline">
        Gene{' '}
        <input
          type="search"
          name="gene"
          placeholder={genes ? `${genes.length} genes: type a name` : 'type a gene name'}
          autocomplete="off"
          spellcheck={false}
          value={text}
          onFocus={loadGenes}
          onInput={(event) => {
            setText((event.currentTarget as HTMLInputElement).value);
            setOpen(true);
          }}
          onKeyDown={(event) => {
            if (event.key === 'Enter' && matches.length) {
              event.preventDefault();
              pick(matches.find((gene) => gene.toLowerCase() === text.trim().toLowerCase()) ?? matches[0]!);
            } else if (event.key === 'Escape') setOpen(false);
          }}
        />
      </label>
      {open && matches.length > 0 && (
        <ul class="suggestions" role="listbox" aria-label="Matching genes">
          {matches.map((gene) => (
            <li key={gene}>
              <button type="button" role="option" onClick={() => pick(gene)}>
                {gene}
              </button>
            </li>
          ))}
        </ul>
      )}
      {open && genes && text.trim() && matches.length === 0 && <span class="muted"> no gene matches</span>}
      {failure && <span class="error"> {failure}</span>}
    </div>
  );
}
