/** Renders a lab plot as a self-contained inline SVG line chart (linear or log y axis). */
import type { Plot } from './experiment.js';

const WIDTH = 640;
const HEIGHT = 340;
const MARGIN = { left: 70, right: 160, top: 30, bottom: 45 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#637939'];

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick values (steps of 1, 2 or 5 × 10^k) covering [min, max] with about `count` ticks. */
function ticks(min: number, max: number, count: number): number[] {
  if (min === max) return [min];
  const rough = (max - min) / Math.max(count - 1, 1);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const values: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) values.push(Number(v.toPrecision(12)));
  return values;
}

function label(value: number, log: boolean): string {
  if (log) return `1e${Math.round(value)}`;
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude >= 1e4 || magnitude < 1e-2) ? value.toExponential(1) : String(Number(value.toPrecision(3)));
}

export function renderSvg(plot: Plot): string {
  const log = plot.logY === true;
  const transform = (y: number) => (log ? Math.log10(y) : y);
  const usable = plot.series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!log || y > 0)) }));
  const all = usable.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = [...all.map((p) => p[1]), ...(plot.yInclude ?? [])].filter((y) => Number.isFinite(y) && (!log || y > 0)).map(transform);
  let [xMin, xMax] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [yMin, yMax] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (xMin === xMax) [xMin, xMax] = [xMin - 1, xMax + 1];
  if (yMin === yMax) [yMin, yMax] = [yMin - 1, yMax + 1];
  if (log) [yMin, yMax] = [Math.floor(yMin), Math.ceil(yMax)];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (x: number) => MARGIN.left + ((x - xMin) / (xMax - xMin)) * plotW;
  const py = (y: number) => MARGIN.top + plotH - ((transform(y) - yMin) / (yMax - yMin)) * plotH;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="11">`);
  parts.push(`<text x="${WIDTH / 2 - MARGIN.right / 2}" y="18" text-anchor="middle" font-size="13" font-weight="bold">${escape(plot.title)}</text>`);
  const yTicks = log ? Array.from({ length: yMax - yMin + 1 }, (_, i) => yMin + i) : ticks(yMin, yMax, 5);
  for (const t of yTicks) {
    const y = MARGIN.top + plotH - ((t - yMin) / (yMax - yMin)) * plotH;
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y + 4}" text-anchor="end">${label(t, log)}</text>`);
  }
  for (const t of ticks(xMin, xMax, 6)) {
    const x = px(t);
    parts.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${x}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${label(t, false)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">${escape(plot.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(plot.yLabel)}${log ? ' (log)' : ''}</text>`);
  usable.forEach((series, i) => {
    const color = COLORS[i % COLORS.length];
    if (series.points.length > 0) {
      const d = series.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
      if (series.points.length === 1) parts.push(`<circle cx="${px(series.points[0][0])}" cy="${py(series.points[0][1])}" r="3" fill="${color}"/>`);
    }
    const ly = MARGIN.top + 10 + i * 16;
    parts.push(`<line x1="${WIDTH - MARGIN.right + 12}" x2="${WIDTH - MARGIN.right + 30}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right + 34}" y="${ly + 4}">${escape(series.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
