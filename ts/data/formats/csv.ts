/**
 * Comma-separated values: one example a row, one number a field, an optional header row.
 * Fields may be quoted (RFC 4180: `"a ""b"""`); blank lines are skipped; `\r\n` and `\n` both
 * end a row. Every field must be a finite number, or the error names its row and column.
 */
import { GradlabError, describe, invalidArgument } from '../../runtime/errors.js';
import type { ParsedArray } from './parsed-array.js';

export interface CsvOptions {
  /**
   * Which column holds the labels: an index (negative counts from the end), a header name,
   * or `'none'` when the labels come from another file. Default `-1`, the last column.
   */
  labelColumn?: number | string;
  /** Whether the first row is a header: `'auto'` (default) takes it for one when any field is not a number. */
  header?: boolean | 'auto';
}

/** The features and (unless `labelColumn` is `'none'`) the labels of a CSV file, each [rows, columns]. */
export interface CsvTable {
  features: ParsedArray;
  labels?: ParsedArray;
  /** The header's names, when the file had a header. */
  columns?: string[];
}

const OP = 'parseCsv';

/** Splits one line into fields, honouring double quotes; `line` is 1-based, for errors. */
function fields(text: string, line: number): string[] {
  const result: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field.trim() === '') {
      field = '';
      quoted = true;
    } else if (c === ',') {
      result.push(field.trim());
      field = '';
    } else field += c;
  }
  if (quoted) invalidArgument(OP, `line ${line}`, 'a closing double quote', `an unterminated quoted field in ${JSON.stringify(text.slice(0, 60))}`);
  result.push(field.trim());
  return result;
}

/** A number of the whole field (`Number('')` is 0 and `Number(' 1')` is 1, so both are checked). */
function numberOf(field: string): number {
  return field === '' ? NaN : Number(field);
}

function columnIndex(option: number | string, columns: number, names: string[] | undefined): number {
  if (typeof option === 'string') {
    const index = names?.indexOf(option) ?? -1;
    if (index < 0) invalidArgument(OP, 'labelColumn', `a column of the header (${names === undefined ? 'the file has none' : names.join(', ')})`, JSON.stringify(option));
    return index;
  }
  if (!Number.isInteger(option) || option < -columns || option >= columns) {
    invalidArgument(OP, 'labelColumn', `an integer in [${-columns}, ${columns - 1}] (the file has ${columns} columns)`, describe(option));
  }
  return option < 0 ? columns + option : option;
}

/** Parses CSV text into features and labels; see the module documentation. */
export function parseCsv(text: string, options: CsvOptions = {}): CsvTable {
  if (typeof text !== 'string') invalidArgument(OP, 'text', 'a string', describe(text));
  const rows: { line: number; fields: string[] }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '') rows.push({ line: i + 1, fields: fields(lines[i], i + 1) });
  }
  if (rows.length === 0) invalidArgument(OP, 'text', 'at least one row of numbers', 'an empty file');
  const first = rows[0].fields;
  const header = options.header ?? 'auto';
  const hasHeader = header === 'auto' ? first.some((field) => !Number.isFinite(numberOf(field))) : header;
  const names = hasHeader ? first : undefined;
  const body = hasHeader ? rows.slice(1) : rows;
  if (body.length === 0) invalidArgument(OP, 'text', 'at least one row of numbers after the header', 'a header only');
  const columns = first.length;
  const labelOption = options.labelColumn ?? -1;
  const label = labelOption === 'none' ? -1 : columnIndex(labelOption, columns, names);
  const featureCount = label < 0 ? columns : columns - 1;
  const features = new Float64Array(body.length * featureCount);
  const labels = new Float64Array(label < 0 ? 0 : body.length);
  body.forEach((row, r) => {
    if (row.fields.length !== columns) {
      invalidArgument(OP, `line ${row.line}`, `${columns} fields (as the ${hasHeader ? 'header' : 'first row'} has)`, `${row.fields.length} fields`);
    }
    let f = r * featureCount;
    row.fields.forEach((field, c) => {
      const value = numberOf(field);
      if (!Number.isFinite(value)) {
        const column = names === undefined ? `column ${c + 1}` : `column ${c + 1} (${JSON.stringify(names[c])})`;
        throw new GradlabError({
          code: 'InvalidArgument',
          op: OP,
          arg: `line ${row.line}, ${column}`,
          expected: 'a finite number',
          actual: JSON.stringify(field),
          message: `${OP}: line ${row.line}, ${column} must be a finite number, got ${JSON.stringify(field)}`,
        });
      }
      if (c === label) labels[r] = value;
      else features[f++] = value;
    });
  });
  const table: CsvTable = { features: { shape: [body.length, featureCount], data: features, dtype: 'csv' } };
  if (label >= 0) table.labels = { shape: [body.length], data: labels, dtype: 'csv' };
  if (names !== undefined) table.columns = names;
  return table;
}
