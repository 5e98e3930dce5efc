/** Training curves (training.csv) and QC distributions (from the embedding's numeric columns), drawn with uPlot. */
import { useEffect, useMemo, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { histogram, type TrainingCurves } from './tables.js';

const HEIGHT = 220;
/** Tick spacings of an axis of whole numbers (epochs). */
const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
const SERIES_COLORS = ['#1f77b4', '#ff7f0e', '#279e68', '#d62728', '#aa40fc', '#8c564b', '#e377c2', '#17becf', '#b5bd61', '#7f7f7f', '#ad494a', '#8c6d31'];

/** One uPlot chart that follows its container's width. */
function Chart({ options, data, label }: { options: Omit<uPlot.Options, 'width' | 'height'>; data: uPlot.AlignedData; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const element = box.current!;
    const plot = new uPlot({ ...options, width: Math.max(200, element.clientWidth), height: HEIGHT }, data, element);
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(200, element.clientWidth), height: HEIGHT }));
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [options, data]);
  return <div class="chart" ref={box} role="img" aria-label={label} />;
}

function lineChart(curves: TrainingCurves, series: TrainingCurves['series']): { options: Omit<uPlot.Options, 'width' | 'height'>; data: uPlot.AlignedData } {
  return {
    options: {
      scales: { x: { time: false } },
      axes: [{ label: 'epoch', incrs: WHOLE_STEPS }, { label: 'loss' }],
      series: [{ label: 'epoch' }, ...series.map((s, i) => ({ label: s.name, stroke: SERIES_COLORS[i % SERIES_COLORS.length], width: 1.5, spanGaps: true }))],
    },
    data: [curves.epochs, ...series.map((s) => s.values)] as uPlot.AlignedData,
  };
}

export function LossPlots({ curves }: { curves: TrainingCurves }) {
  const charts = useMemo(() => {
    const totals = curves.series.filter((s) => s.name.endsWith('_total'));
    const terms = curves.series.filter((s) => s.name.startsWith('train_') && !s.name.endsWith('_total'));
    return [
      { title: 'Total loss per epoch (training and validation)', ...lineChart(curves, totals) },
      ...(terms.length ? [{ title: 'Loss terms per epoch (training)', ...lineChart(curves, terms) }] : []),
    ];
  }, [curves]);
  if (curves.epochs.length === 0) return <p class="muted">training.csv has no epochs.</p>;
  return (
    <div class="plots">
      {charts.map((chart) => (
        <figure key={chart.title}>
          <figcaption>{chart.title}</figcaption>
          <Chart label={chart.title} options={chart.options} data={chart.data} />
        </figure>
      ))}
    </div>
  );
}

export function Histogram({ name, values }: { name: string; values: Float32Array }) {
  const chart = useMemo(() => {
    const { edges, counts } = histogram(values);
    const options: Omit<uPlot.Options, 'width' | 'height'> = {
      scales: { x: { time: false } },
      axes: [{ label: name }, { label: 'cells' }],
      legend: { show: false },
      series: [{ label: name }, { label: 'cells', fill: '#1f77b4aa', stroke: '#1f77b4', paths: uPlot.paths.bars!({ size: [1, Infinity], align: 1 }) }],
    };
    return edges.length ? { options, data: [edges, counts] as uPlot.AlignedData } : null;
  }, [name, values]);
  if (!chart) return null;
  return (
    <figure>
      <figcaption>{name}</figcaption>
      <Chart label={`Distribution of ${name}`} options={chart.options} data={chart.data} />
    </figure>
  );
}
