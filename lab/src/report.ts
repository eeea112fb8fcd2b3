/** Writes the lab's self-contained HTML report: tables and inline SVG plots, no network. */
import type { Experiment, ExperimentName, Table } from './experiment.js';
import { renderSvg } from './svg.js';

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function tableHtml(table: Table): string {
  const head = table.columns.map((c) => `<th>${escape(c)}</th>`).join('');
  const rows = table.rows.map((row) => `<tr>${row.map((cell) => `<td>${escape(String(cell))}</td>`).join('')}</tr>`).join('\n');
  const note = table.note ? `<p class="note">${escape(table.note)}</p>` : '';
  return `<h3>${escape(table.title)}</h3><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>${note}`;
}

export interface ReportSection {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  experiment: Experiment<any>;
  result: { experiment: ExperimentName };
}

export function renderReport(sections: ReportSection[], meta: { seed: number; quick: boolean; date: string }): string {
  const body = sections
    .map(({ experiment, result }) => {
      const tables = experiment.tables(result).map(tableHtml).join('\n');
      const plots = experiment.plots(result).map((p) => `<figure>${renderSvg(p)}</figure>`).join('\n');
      return `<section id="${experiment.name}"><h2>${escape(experiment.title)}</h2><p>${escape(experiment.summary)}</p>${tables}<div class="plots">${plots}</div></section>`;
    })
    .join('\n');
  const toc = sections.map(({ experiment }) => `<li><a href="#${experiment.name}">${escape(experiment.title)}</a></li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gradlab lab report</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.note { color: #555; font-size: 0.9em; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; }
</style></head>
<body>
<h1>gradlab lab report</h1>
<p>Seed ${meta.seed}${meta.quick ? ', quick run' : ''}, ${escape(meta.date)}. Every number below was measured by this run on real MNIST digits.</p>
<ul>${toc}</ul>
${body}
</body></html>
`;
}
