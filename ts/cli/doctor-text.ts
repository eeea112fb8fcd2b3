/** The doctor's report as plain text for the terminal: verdict, findings, layers, trials, recommendation. */
import { formatChange, formatNumber, formatShare } from '../doctor/format.js';
import type { DoctorReport, Trial } from '../doctor/report.js';

/** Aligned columns: the first left-aligned, the rest right-aligned (numbers). */
function columns(header: string[], rows: string[][]): string[] {
  const cells = [header, ...rows];
  const widths = header.map((_, j) => Math.max(...cells.map((row) => row[j].length)));
  return cells.map((row) => `  ${row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ')}`.trimEnd());
}

function trialRow(trial: Trial): string[] {
  const { before, after } = trial;
  return [
    trial.remedy,
    formatChange(before.loss, after.loss),
    formatChange(before.accuracy, after.accuracy, formatShare),
    formatChange(before.gradientRatio, after.gradientRatio),
    after.verdict,
    formatNumber(trial.improvement),
  ];
}

export function renderDoctorText(report: DoctorReport): string {
  const out: string[] = [`verdict: ${report.verdict}`, ''];
  if (report.findings.length > 0) {
    out.push('findings:');
    for (const finding of report.findings) {
      const measured = Object.entries(finding.measured).map(([key, value]) => `${key} ${formatNumber(value)}`);
      const threshold = Object.entries(finding.threshold).map(([key, value]) => `${key} ${formatNumber(value)}`);
      out.push(`  - ${finding.kind}${finding.layer === null ? '' : ` (${finding.layer})`}: ${finding.message}`);
      out.push(`    measured ${measured.join(', ')}; threshold ${threshold.join(', ')}`);
    }
    out.push('');
  }
  out.push('layers:');
  out.push(
    ...columns(
      ['layer', 'kind', '‖∂C/∂b‖', '‖∂C/∂W‖', '‖ΔW‖/‖W‖', 'pre-act mean', 'pre-act std', 'saturated', 'dead'],
      report.layers.map((layer) => [
        layer.name,
        layer.kind,
        formatNumber(layer.biasGradNorm),
        formatNumber(layer.weightGradNorm),
        formatNumber(layer.updateRatio),
        formatNumber(layer.preActivationMean),
        formatNumber(layer.preActivationStd),
        formatShare(layer.saturatedFraction),
        formatShare(layer.deadFraction),
      ]),
    ),
  );
  for (const layer of report.layers) {
    const norms = layer.timeGradNorms;
    if (norms === undefined || norms.length === 0) continue;
    out.push(`  ${layer.name}: ‖∂L/∂h_t‖ from t = 0 to ${norms.length - 1}: ${formatNumber(norms[0])} … ${formatNumber(norms[norms.length - 1])}`);
  }
  if (report.trials.length > 0) {
    out.push('', 'trials (best first; before → after, same data, seed and budget):');
    out.push(...columns(['remedy', 'validation loss', 'accuracy', 'gradient ratio', 'verdict', 'improvement'], report.trials.map(trialRow)));
  }
  out.push('', `recommendation: ${report.recommendation.remedy}`);
  return `${out.join('\n')}\n`;
}
