import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
}

/**
 * A uPlot chart: lines over time when `times` are instants (seconds), bars over categories otherwise.
 * The numbers are also in the page's tables; the chart carries a text description for screen readers.
 */
export function Chart({ title, times, categories, series }: { title: string; times?: number[]; categories?: string[]; series: Series[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const xs = times ?? (categories ?? []).map((_c, i) => i);
    const bars = !times;
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 260,
      scales: { x: { time: !bars, ...(bars ? { range: [-0.5, xs.length - 0.5] as [number, number] } : {}) } },
      axes: [
        bars ? { values: (_u, splits) => splits.map((i) => (Number.isInteger(i) ? (categories?.[i] ?? '') : '')), space: 40 } : {},
        { size: 60 },
      ],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          ...(bars ? { fill: s.color, paths: uPlot.paths.bars!({ size: [0.6, 80] }), points: { show: false } } : {}),
        })),
      ],
      legend: { show: series.length > 1 },
    };
    const plot = new uPlot(opts, [xs, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const resize = () => plot.setSize({ width: Math.max(280, el.clientWidth), height: 260 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [title, JSON.stringify(times), JSON.stringify(categories), JSON.stringify(series)]);
  const total = series.map((s) => `${s.label}: ${s.values.reduce<number>((a, v) => a + (v ?? 0), 0)} in total over ${(times ?? categories ?? []).length} points`).join('; ');
  return (
    <figure class="chart" data-testid="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}. ${total}`} />
    </figure>
  );
}
