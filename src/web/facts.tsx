/** A two-column table of labelled facts (a dataset's summary, a run's, a job's parameters); every value is text. */
import type { ComponentChildren } from 'preact';

export function Facts({ rows }: { rows: readonly (readonly [ComponentChildren, ComponentChildren])[] }) {
  return (
    <table class="facts">
      <tbody>
        {rows.map(([label, value], i) => (
          <tr key={i}>
            <th scope="row">{label}</th>
            <td>{value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
