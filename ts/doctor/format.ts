/** How the doctor's numbers read, in the terminal and in the HTML report alike. */

/** A measurement in 3 significant digits; very large or small ones in exponent form; `–` for none. */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  if (!Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude >= 1e5 || magnitude < 1e-3)) return value.toExponential(2);
  return String(Number(value.toPrecision(3)));
}

/** A fraction in [0, 1] as a percentage: `12.5%`; `–` for none. */
export function formatShare(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : `${Number((100 * value).toPrecision(3))}%`;
}

/** `before → after` of a trial's metric. */
export function formatChange(before: number | null, after: number | null, format: (value: number | null) => string = formatNumber): string {
  return `${format(before)} → ${format(after)}`;
}
