/**
 * A log–log line chart as a standalone SVG string, for the scaling sweeps: no dependencies,
 * readable as text, viewable in any browser.
 */

const WIDTH = 640;
const HEIGHT = 400;
const MARGIN = { top: 40, right: 170, bottom: 50, left: 70 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

/** @param {string} text */
function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Tick values on a log axis covering [low, high]: powers of 10, or of 2 for a narrow range. */
function logTicks(low, high) {
  const base = high / low < 100 ? 2 : 10;
  const ticks = [];
  for (let power = Math.floor(Math.log(low) / Math.log(base)); base ** power <= high * 1.0001; power++) {
    const value = base ** power;
    if (value >= low / 1.0001) ticks.push(value);
  }
  if (base === 10 && ticks.length < 4) {
    // Few decades: label 2× and 5× as well.
    const more = ticks.flatMap((tick) => [tick, 2 * tick, 5 * tick]).filter((tick) => tick >= low / 1.0001 && tick <= high * 1.0001);
    if (more.length >= 2) return more;
  }
  return ticks.length >= 2 ? ticks : [low, high];
}

/** @param {number} value */
function tickLabel(value) {
  if (value >= 1e6) return `${+(value / 1e6).toPrecision(3)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toPrecision(3)}k`;
  return `${+value.toPrecision(3)}`;
}

/**
 * @param {{ title: string, xLabel: string, yLabel: string,
 *   series: { label: string, points: { x: number, y: number | null }[] }[] }} chart
 * @returns {string} the SVG document
 */
export function lineChartSvg({ title, xLabel, yLabel, series }) {
  const points = series.flatMap((line) => line.points).filter((point) => point.y != null && point.y > 0 && point.x > 0);
  const xs = points.map((point) => point.x);
  const ys = points.map((point) => /** @type {number} */ (point.y));
  const [xLow, xHigh] = [Math.min(...xs), Math.max(...xs)];
  const [yLow, yHigh] = [Math.min(...ys) / 1.3, Math.max(...ys) * 1.3];
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (value) => MARGIN.left + (plotWidth * Math.log(value / xLow)) / Math.log(xHigh / xLow || 2);
  const y = (value) => MARGIN.top + plotHeight - (plotHeight * Math.log(value / yLow)) / Math.log(yHigh / yLow);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="14" font-weight="bold">${escape(title)}</text>`,
  ];
  for (const tick of logTicks(xLow, xHigh)) {
    parts.push(`<line x1="${x(tick)}" y1="${MARGIN.top}" x2="${x(tick)}" y2="${MARGIN.top + plotHeight}" stroke="#eee"/>`);
    parts.push(`<text x="${x(tick)}" y="${MARGIN.top + plotHeight + 16}" text-anchor="middle">${tickLabel(tick)}</text>`);
  }
  for (const tick of logTicks(yLow, yHigh)) {
    parts.push(`<line x1="${MARGIN.left}" y1="${y(tick)}" x2="${MARGIN.left + plotWidth}" y2="${y(tick)}" stroke="#eee"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${y(tick) + 4}" text-anchor="end">${tickLabel(tick)}</text>`);
  }
  parts.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 12}" text-anchor="middle">${escape(xLabel)} (log scale)</text>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escape(yLabel)} (log scale)</text>`);
  series.forEach((line, index) => {
    const color = COLORS[index % COLORS.length];
    const drawn = line.points.filter((point) => point.y != null && point.y > 0);
    if (drawn.length > 0) {
      const path = drawn.map((point, i) => `${i === 0 ? 'M' : 'L'}${x(point.x).toFixed(1)},${y(/** @type {number} */ (point.y)).toFixed(1)}`).join(' ');
      parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
      for (const point of drawn) parts.push(`<circle cx="${x(point.x).toFixed(1)}" cy="${y(/** @type {number} */ (point.y)).toFixed(1)}" r="3" fill="${color}"><title>${escape(`${line.label}: ${tickLabel(point.x)} → ${tickLabel(/** @type {number} */ (point.y))}`)}</title></circle>`);
    }
    const legendY = MARGIN.top + 10 + index * 20;
    parts.push(`<line x1="${WIDTH - MARGIN.right + 12}" y1="${legendY}" x2="${WIDTH - MARGIN.right + 32}" y2="${legendY}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right + 38}" y="${legendY + 4}">${escape(line.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
