/**
 * The doctor's report as one self-contained HTML page (inline SVG and CSS, no scripts, no
 * network): the verdict and findings, per-layer gradient norms over the run, histograms per
 * layer, ‖∂L/∂h_t‖ through time for recurrent layers, the trials side by side and the
 * recommended spec.
 */
import { formatChange, formatNumber, formatShare } from './format.js';
import type { DoctorReport, LayerHealth } from './report.js';
import { dumbbells, escapeXml, logLineChart, offsetHistograms } from './svg.js';

/** Where the report came from, printed in its header. */
export interface DoctorHtmlMeta {
  spec: string;
  data: string;
  seed: number;
  date: string;
}

function table(header: string[], rows: string[][], highlight = -1): string {
  const head = header.map((cell) => `<th>${escapeXml(cell)}</th>`).join('');
  const body = rows.map((row, i) => `<tr${i === highlight ? ' class="best"' : ''}>${row.map((cell) => `<td>${escapeXml(cell)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** ‖∂C/∂W‖ of every layer over the run, x in percent of the run's steps. */
function historyChart(layers: LayerHealth[]): string {
  const series = layers
    .filter((layer) => layer.weightGradNormHistory.length > 0)
    .map((layer) => {
      const n = layer.weightGradNormHistory.length;
      return { name: layer.name, points: layer.weightGradNormHistory.map((v, i): [number, number] => [n === 1 ? 0 : (100 * i) / (n - 1), v]) };
    });
  return logLineChart('‖∂C/∂W‖ per layer over the run', 'progress of the run (% of its steps)', '‖∂C/∂W‖ (log)', series);
}

function timeCharts(layers: LayerHealth[]): string {
  const recurrent = layers.filter((layer) => layer.timeGradNorms !== undefined && layer.timeGradNorms.length > 0);
  if (recurrent.length === 0) return '';
  const series = recurrent.map((layer) => ({ name: layer.name, points: (layer.timeGradNorms as number[]).map((v, t): [number, number] => [t, v]) }));
  return `<figure>${logLineChart('‖∂L/∂h_t‖ through time', 'time step t', '‖∂L/∂h_t‖ (log)', series)}</figure>`;
}

function histogramCharts(layers: LayerHealth[]): string {
  const kinds = [
    ['preActivations', 'Pre-activations per layer', 'pre-activation'],
    ['activations', 'Activations per layer', 'activation'],
    ['gradients', 'Gradients per layer', 'gradient'],
  ] as const;
  return kinds
    .map(([key, title, label]) => `<figure>${offsetHistograms(title, label, layers.map((layer) => ({ name: layer.name, histogram: layer.histograms[key] })))}</figure>`)
    .join('\n');
}

function trialsSection(report: DoctorReport): string {
  if (report.trials.length === 0) return '<h2>Trials</h2><p>No remedies were tried (<code>--no-trials</code>, or nothing to remedy).</p>';
  const rows = report.trials.map((trial) => [
    trial.remedy,
    formatChange(trial.before.loss, trial.after.loss),
    formatChange(trial.before.accuracy, trial.after.accuracy, formatShare),
    formatChange(trial.before.gradientRatio, trial.after.gradientRatio),
    `${trial.before.verdict} → ${trial.after.verdict}`,
    formatNumber(trial.improvement),
  ]);
  const best = report.trials.findIndex((trial) => trial.remedy === report.recommendation.remedy);
  const loss = dumbbells('Validation loss (lower is better)', 'loss', report.trials.map((t) => ({ name: t.remedy, before: t.before.loss, after: t.after.loss })), { log: false });
  const ratio = dumbbells('Gradient ratio, largest/smallest (1 = balanced)', 'ratio', report.trials.map((t) => ({ name: t.remedy, before: t.before.gradientRatio, after: t.after.gradientRatio })), { log: true });
  return `<h2>Trials</h2>
<p>Each remedy trained on the same data, seed and step budget as the original; grey is the original, the coloured dot the trial. Best first.</p>
${table(['remedy', 'validation loss', 'accuracy', 'gradient ratio', 'verdict', 'improvement'], rows, best)}
<div class="plots"><figure>${loss}</figure><figure>${ratio}</figure></div>`;
}

/** The report's stylesheet (scoped to `.gradlab-doctor`, so a page can embed the report). */
export const DOCTOR_STYLE = `
.gradlab-doctor { font-family: system-ui, sans-serif; color: #222; }
.gradlab-doctor table { border-collapse: collapse; margin: 0.5em 0; font-variant-numeric: tabular-nums; }
.gradlab-doctor th, .gradlab-doctor td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
.gradlab-doctor th:first-child, .gradlab-doctor td:first-child { text-align: left; }
.gradlab-doctor tr.best td { background: #e8f5e9; font-weight: bold; }
.gradlab-doctor .verdict { font-size: 1.4em; }
.gradlab-doctor .note { color: #555; font-size: 0.9em; }
.gradlab-doctor .plots { display: flex; flex-wrap: wrap; gap: 1em; }
.gradlab-doctor figure { margin: 0; }
.gradlab-doctor pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
`;

/**
 * The report as an HTML fragment (a `<div class="gradlab-doctor">`): what the CLI's page and
 * the lab's web page both show, styled by {@link DOCTOR_STYLE}.
 */
export function renderDoctorReport(report: DoctorReport): string {
  const findings =
    report.findings.length === 0
      ? '<p>No findings: every measurement is within its threshold.</p>'
      : `<ul class="findings">${report.findings
          .map((f) => {
            const numbers = Object.entries(f.measured).map(([k, v]) => `${k} ${formatNumber(v)}`).join(', ');
            const limits = Object.entries(f.threshold).map(([k, v]) => `${k} ${formatNumber(v)}`).join(', ');
            return `<li><b>${escapeXml(f.kind)}</b>${f.layer === null ? '' : ` in <code>${escapeXml(f.layer)}</code>`}: ${escapeXml(f.message)} <span class="note">(measured ${escapeXml(numbers)}; threshold ${escapeXml(limits)})</span></li>`;
          })
          .join('\n')}</ul>`;
  const layerRows = report.layers.map((l) => [
    l.name,
    l.kind,
    formatNumber(l.biasGradNorm),
    formatNumber(l.weightGradNorm),
    formatNumber(l.updateRatio),
    formatNumber(l.preActivationMean),
    formatNumber(l.preActivationStd),
    formatShare(l.saturatedFraction),
    formatShare(l.deadFraction),
  ]);
  return `<div class="gradlab-doctor">
<p class="verdict">Verdict: <b>${escapeXml(report.verdict)}</b></p>
${findings}
<h2>Layers</h2>
${table(['layer', 'kind', '‖∂C/∂b‖', '‖∂C/∂W‖', '‖ΔW‖/‖W‖', 'pre-act mean', 'pre-act std', 'saturated', 'dead'], layerRows)}
<div class="plots"><figure>${historyChart(report.layers)}</figure>${timeCharts(report.layers)}</div>
<h2>Histograms per layer</h2>
<p class="note">As TensorBoard's histogram dashboard draws them (offset mode): one ridge per layer, the first layer at the back, each scaled to its own highest bin.</p>
<div class="plots">${histogramCharts(report.layers)}</div>
${trialsSection(report)}
<h2>Recommendation: ${escapeXml(report.recommendation.remedy)}</h2>
<pre>${escapeXml(JSON.stringify(report.recommendation.spec, null, 2))}</pre>
</div>`;
}

/** The whole self-contained page; see the module documentation. */
export function renderDoctorHtml(report: DoctorReport, meta: DoctorHtmlMeta): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gradlab doctor: ${escapeXml(report.verdict)}</title>
<style>
body { max-width: 1100px; margin: 2em auto; padding: 0 1em; font-family: system-ui, sans-serif; }
${DOCTOR_STYLE}</style></head>
<body>
<h1>gradlab doctor</h1>
<p class="note">${escapeXml(meta.spec)} on ${escapeXml(meta.data)}, seed ${meta.seed}, ${escapeXml(meta.date)}.</p>
${renderDoctorReport(report)}
</body></html>
`;
}
