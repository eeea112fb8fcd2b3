/**
 * The doctor's pictures as self-contained inline SVG: line charts (per-layer gradient norms
 * over the run, ‖∂L/∂h_t‖ through time), TensorBoard-style offset histograms (one ridge per
 * layer, the first layer at the back) and before/after dumbbells for the trials.
 */
import type { Histogram } from './report.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Round tick values (steps of 1, 2 or 5 × 10^k) covering [min, max] with about `count` ticks. */
function ticks(min: number, max: number, count: number): number[] {
  if (!(max > min)) return [min];
  const rough = (max - min) / Math.max(count - 1, 1);
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough) ?? 10 * magnitude;
  const values: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) values.push(Number(v.toPrecision(12)));
  return values;
}

function tickLabel(value: number, log: boolean): string {
  if (log) return `1e${Math.round(value)}`;
  const magnitude = Math.abs(value);
  return magnitude !== 0 && (magnitude >= 1e4 || magnitude < 1e-2) ? value.toExponential(1) : String(Number(value.toPrecision(3)));
}

/** A linear map of [domain] onto [range], with an empty domain widened so nothing divides by zero. */
function scale([d0, d1]: [number, number], [r0, r1]: [number, number]): (v: number) => number {
  const [low, high] = d0 === d1 ? [d0 - 1, d1 + 1] : [d0, d1];
  return (v) => r0 + ((v - low) / (high - low)) * (r1 - r0);
}

const extent = (values: number[]): [number, number] => (values.length === 0 ? [0, 1] : [Math.min(...values), Math.max(...values)]);

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

function open(frame: Frame, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${frame.width} ${frame.height}" width="${frame.width}" height="${frame.height}" font-family="sans-serif" font-size="11">`,
    `<text x="${frame.left}" y="16" font-size="13" font-weight="bold">${escapeXml(title)}</text>`,
  ];
}

/** Grid lines and labels of one axis, `log` meaning the values are already log10. */
function axis(frame: Frame, direction: 'x' | 'y', domain: [number, number], log: boolean, label: string): string[] {
  const parts: string[] = [];
  const [x0, x1, y0, y1] = [frame.left, frame.width - frame.right, frame.top, frame.height - frame.bottom];
  const values = log ? ticks(Math.floor(domain[0]), Math.ceil(domain[1]), 6).filter(Number.isInteger) : ticks(domain[0], domain[1], direction === 'x' ? 6 : 5);
  const at = direction === 'x' ? scale(domain, [x0, x1]) : scale(domain, [y1, y0]);
  for (const value of values) {
    const p = at(value);
    if (p < (direction === 'x' ? x0 : y0) - 0.5 || p > (direction === 'x' ? x1 : y1) + 0.5) continue;
    if (direction === 'x') parts.push(`<line x1="${p.toFixed(1)}" x2="${p.toFixed(1)}" y1="${y0}" y2="${y1}" stroke="#eee"/><text x="${p.toFixed(1)}" y="${y1 + 14}" text-anchor="middle">${tickLabel(value, log)}</text>`);
    else parts.push(`<line x1="${x0}" x2="${x1}" y1="${p.toFixed(1)}" y2="${p.toFixed(1)}" stroke="#ddd"/><text x="${x0 - 5}" y="${(p + 4).toFixed(1)}" text-anchor="end">${tickLabel(value, log)}</text>`);
  }
  if (direction === 'x') parts.push(`<text x="${(x0 + x1) / 2}" y="${frame.height - 6}" text-anchor="middle">${escapeXml(label)}</text>`);
  else parts.push(`<text transform="translate(13 ${(y0 + y1) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(label)}</text>`);
  return parts;
}

function legend(frame: Frame, names: string[]): string[] {
  return names.map((name, i) => {
    const x = frame.width - frame.right + 12;
    const y = frame.top + 8 + i * 15;
    return `<line x1="${x}" x2="${x + 16}" y1="${y}" y2="${y}" stroke="${COLORS[i % COLORS.length]}" stroke-width="2"/><text x="${x + 20}" y="${y + 4}">${escapeXml(name)}</text>`;
  });
}

export interface LineSeries {
  name: string;
  points: [number, number][];
}

/** A line chart with a log y axis (gradient norms span decades); non-positive and non-finite points are left out. */
export function logLineChart(title: string, xLabel: string, yLabel: string, series: LineSeries[]): string {
  const frame: Frame = { width: 640, height: 320, left: 62, right: 150, top: 28, bottom: 40 };
  const usable = series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && y > 0).map(([x, y]): [number, number] => [x, Math.log10(y)]) }));
  const all = usable.flatMap((s) => s.points);
  const xDomain = extent(all.map((p) => p[0]));
  const yFit = extent(all.map((p) => p[1]));
  const yDomain: [number, number] = [Math.floor(yFit[0]), Math.max(Math.ceil(yFit[1]), Math.floor(yFit[0]) + 1)];
  const px = scale(xDomain, [frame.left, frame.width - frame.right]);
  const py = scale(yDomain, [frame.height - frame.bottom, frame.top]);
  const parts = [...open(frame, title), ...axis(frame, 'y', yDomain, true, yLabel), ...axis(frame, 'x', xDomain, false, xLabel)];
  parts.push(`<rect x="${frame.left}" y="${frame.top}" width="${frame.width - frame.left - frame.right}" height="${frame.height - frame.top - frame.bottom}" fill="none" stroke="#333"/>`);
  usable.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    if (s.points.length > 1) parts.push(`<path d="${s.points.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="1.8"/>`);
    else if (s.points.length === 1) parts.push(`<circle cx="${px(s.points[0][0]).toFixed(1)}" cy="${py(s.points[0][1]).toFixed(1)}" r="3" fill="${color}"/>`);
  });
  parts.push(...legend(frame, usable.map((s) => s.name)), '</svg>');
  return parts.join('');
}

export interface NamedHistogram {
  name: string;
  histogram: Histogram;
}

/**
 * Histograms as TensorBoard's histogram dashboard draws them in its offset mode: one filled
 * ridge per entry, stacked with an offset so that the first (the first layer) sits at the
 * back and the last in front, all on one value axis; each ridge is scaled to its own
 * highest bin, because the shapes, not the counts, are compared.
 */
export function offsetHistograms(title: string, xLabel: string, entries: NamedHistogram[]): string {
  const ridge = 34;
  const frame: Frame = { width: 640, height: 70 + ridge * Math.max(entries.length, 1) + 40, left: 62, right: 110, top: 28, bottom: 40 };
  const usable = entries.filter((e) => e.histogram.counts.length > 0 && Number.isFinite(e.histogram.min) && Number.isFinite(e.histogram.max));
  const xDomain = extent(usable.flatMap((e) => [e.histogram.min, e.histogram.max]));
  const log = usable.some((e) => e.histogram.log);
  const px = scale(xDomain, [frame.left, frame.width - frame.right]);
  const parts = [...open(frame, title), ...axis(frame, 'x', xDomain, log, `${xLabel}${log ? ' (log10 |value|)' : ''}`)];
  const baseline = (i: number) => frame.top + 60 + i * ridge;
  usable.forEach((entry, i) => {
    const { min, max, counts } = entry.histogram;
    const highest = Math.max(...counts, 1);
    const width = (max - min) / counts.length;
    const y0 = baseline(i);
    const points = counts.flatMap((count, bin) => {
      const y = y0 - (count / highest) * (ridge * 1.8);
      return [`${px(min + bin * width).toFixed(1)},${y.toFixed(1)}`, `${px(min + (bin + 1) * width).toFixed(1)},${y.toFixed(1)}`];
    });
    const color = COLORS[i % COLORS.length];
    parts.push(`<polygon points="${px(min).toFixed(1)},${y0} ${points.join(' ')} ${px(max).toFixed(1)},${y0}" fill="${color}" fill-opacity="0.55" stroke="${color}" stroke-width="1"/>`);
    parts.push(`<text x="${frame.width - frame.right + 8}" y="${y0}">${escapeXml(entry.name)}${entry.histogram.excluded > 0 ? ` (+${entry.histogram.excluded} left out)` : ''}</text>`);
  });
  if (usable.length === 0) parts.push(`<text x="${frame.left}" y="${frame.top + 30}">no values</text>`);
  parts.push('</svg>');
  return parts.join('');
}

export interface Dumbbell {
  name: string;
  before: number;
  after: number;
}

/**
 * Before → after per row: a grey dot for the original, a coloured one for the trial (green
 * where lower is better and it went down, red where it went up), joined by a line.
 */
export function dumbbells(title: string, xLabel: string, rows: Dumbbell[], options: { log: boolean }): string {
  const rowHeight = 22;
  const frame: Frame = { width: 420, height: 60 + rowHeight * Math.max(rows.length, 1) + 30, left: 110, right: 20, top: 34, bottom: 40 };
  const value = (v: number) => (options.log ? Math.log10(v) : v);
  const usable = rows.filter((r) => Number.isFinite(value(r.before)) && Number.isFinite(value(r.after)));
  const xDomain = extent(usable.flatMap((r) => [value(r.before), value(r.after)]));
  const px = scale(xDomain, [frame.left, frame.width - frame.right]);
  const parts = [...open(frame, title), ...axis(frame, 'x', xDomain, options.log, xLabel)];
  rows.forEach((row, i) => {
    const y = frame.top + 16 + i * rowHeight;
    parts.push(`<text x="${frame.left - 8}" y="${y + 4}" text-anchor="end">${escapeXml(row.name)}</text>`);
    if (!usable.includes(row)) return parts.push(`<text x="${frame.left}" y="${y + 4}" fill="#a00">not finite</text>`);
    const [b, a] = [px(value(row.before)), px(value(row.after))];
    const color = row.after < row.before ? '#2ca02c' : row.after > row.before ? '#d62728' : '#7f7f7f';
    parts.push(`<line x1="${b.toFixed(1)}" x2="${a.toFixed(1)}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<circle cx="${b.toFixed(1)}" cy="${y}" r="4" fill="#999"/><circle cx="${a.toFixed(1)}" cy="${y}" r="4.5" fill="${color}"/>`);
    return undefined;
  });
  parts.push('</svg>');
  return parts.join('');
}
