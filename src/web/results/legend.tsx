/** The legend: categories with their colour and size (click to hide or show them), or the colour bar of a number. */
import { count, number } from '../format.js';
import { VIRIDIS_CSS } from './colors.js';

export function CategoryLegend({
  title,
  categories,
  colors,
  sizes,
  hidden,
  onToggle,
  onShowOnly,
}: {
  title: string;
  categories: readonly string[];
  colors: readonly string[];
  sizes: readonly number[];
  hidden: ReadonlySet<number>;
  onToggle: (category: number) => void;
  onShowOnly: (category: number | null) => void;
}) {
  return (
    <div class="legend" aria-label={`Legend: ${title}`}>
      <h4>{title}</h4>
      <ul>
        {categories.map((name, i) => (
          <li key={i} class={hidden.has(i) ? 'off' : ''}>
            <button type="button" class="legend-item" aria-pressed={!hidden.has(i)} onClick={() => onToggle(i)} onDblClick={() => onShowOnly(i)} title="click: hide or show; double-click: show only this">
              <span class="swatch" style={{ backgroundColor: colors[i] }} />
              <span class="legend-name">{name}</span>
              <span class="legend-count">{count(sizes[i] ?? 0)}</span>
            </button>
          </li>
        ))}
      </ul>
      {hidden.size > 0 && (
        <button type="button" class="link" onClick={() => onShowOnly(null)}>
          Show all
        </button>
      )}
    </div>
  );
}

export function ColorBar({ title, range }: { title: string; range: readonly [number, number] }) {
  return (
    <div class="legend" aria-label={`Legend: ${title}`}>
      <h4>{title}</h4>
      <div class="colorbar" style={{ backgroundImage: VIRIDIS_CSS }} />
      <div class="colorbar-ticks">
        <span>{number(range[0])}</span>
        <span>{number(range[1])}</span>
      </div>
    </div>
  );
}
