/**
 * Plain-text tables for benchmark output, also valid Markdown so they can be pasted into bench/RESULTS.md.
 */

/** Render `rows` under `headers` as a Markdown table with padded columns. Short rows are padded with ''. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${widths.map((w, i) => (cells[i] ?? '').padEnd(w)).join(' | ')} |`;
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Print a titled table to stdout. */
export function printTable(
  title: string,
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): void {
  console.log(`\n### ${title}\n`);
  console.log(renderTable(headers, rows));
}
