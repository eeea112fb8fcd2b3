/** Renders lab tables as aligned plain text for the terminal. */
import type { Table } from './experiment.js';

export function renderTable(table: Table): string {
  const cells = [table.columns, ...table.rows.map((row) => row.map(String))];
  const widths = table.columns.map((_, j) => Math.max(...cells.map((row) => (row[j] ?? '').length)));
  const line = (row: string[]) => row.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  ');
  const rule = widths.map((w) => '─'.repeat(w)).join('  ');
  const out = [table.title, rule, line(cells[0]), rule, ...cells.slice(1).map(line), rule];
  if (table.note) out.push(table.note);
  return out.join('\n');
}
