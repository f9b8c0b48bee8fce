/**
 * The bench's first results table as an SVG bar chart, drawn here without
 * any library or network: one group per scenario, one bar per tool (the
 * median), a whisker from min to max, the figure written beside each bar.
 * Each group has its own scale (a no-op takes 0.3 s, a first converge 2 s,
 * Ansible 8 s: one axis would flatten the bars that matter). bench/readme.ts
 * writes it next to the results file it comes from, and checks it in CI.
 *
 * @module
 */

/** One cell: median (min-max), in seconds. */
export interface Figure {
  median: number;
  min: number;
  max: number;
}

/** The first table of a results file: columns after the scenario, and each scenario's figures (undefined: none). */
export interface ResultsTable {
  tools: string[];
  rows: Array<{ scenario: string; figures: Array<Figure | undefined> }>;
}

/** Reads the first markdown table whose cells are `median (min-max)`. */
export function resultsTable(markdown: string): ResultsTable | undefined {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l, i) => l.startsWith("| ") && lines[i + 1]?.startsWith("| ---"));
  if (start < 0) return undefined;
  const cells = (line: string) => line.split("|").slice(1, -1).map((c) => c.trim());
  const tools = cells(lines[start] as string).slice(1);
  const rows: ResultsTable["rows"] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    const [scenario = "", ...rest] = cells(line);
    rows.push({ scenario, figures: rest.map(figure) });
  }
  return { tools, rows };
}

function figure(cell: string): Figure | undefined {
  const m = /^(\d+(?:\.\d+)?)(?: \((\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)\))?$/.exec(cell);
  if (m === null) return undefined;
  const median = Number(m[1]);
  return { median, min: Number(m[2] ?? median), max: Number(m[3] ?? median) };
}

const COLOURS = ["#1f6feb", "#388bfd", "#79c0ff", "#2da44e", "#7ee787", "#bf8700", "#d4a72c", "#cf222e", "#8250df"];

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The SVG text of a chart of `table`, titled with `title`'s lines. */
export function chartSvg(table: ResultsTable, title: string[]): string {
  const bar = 14;
  const gap = 4;
  const label = 150;
  const plot = 420;
  const width = label + plot + 70;
  const out: string[] = [];
  let y = 24 + 16 * title.length;
  for (const row of table.rows) {
    out.push(`<text x="8" y="${y + 12}" font-weight="bold">${escape(row.scenario)}</text>`);
    y += 20;
    const scale = Math.max(...row.figures.map((f) => f?.max ?? 0), 0.001);
    row.figures.forEach((f, i) => {
      const colour = COLOURS[i % COLOURS.length] as string;
      out.push(`<text x="${label - 6}" y="${y + bar - 3}" text-anchor="end">${escape(table.tools[i] ?? "")}</text>`);
      if (f === undefined) {
        out.push(`<text x="${label + 4}" y="${y + bar - 3}" fill="#57606a">no figure</text>`);
      } else {
        const w = (f.median / scale) * plot;
        const x0 = label + (f.min / scale) * plot;
        const x1 = label + (f.max / scale) * plot;
        const mid = y + bar / 2;
        out.push(
          `<rect x="${label}" y="${y}" width="${w.toFixed(1)}" height="${bar}" fill="${colour}"/>`,
          `<line x1="${x0.toFixed(1)}" y1="${mid}" x2="${x1.toFixed(1)}" y2="${mid}" stroke="#24292f"/>`,
          `<text x="${(label + Math.max(w, x1 - label) + 6).toFixed(1)}" y="${y + bar - 3}">${
            f.median.toFixed(2)
          } s</text>`,
        );
      }
      y += bar + gap;
    });
    y += 12;
  }
  const height = y + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...title.map((line, i) =>
      `<text x="8" y="${20 + 16 * i}"${i === 0 ? ' font-size="14" font-weight="bold"' : ""}>${escape(line)}</text>`
    ),
    ...out,
    "</svg>",
    "",
  ].join("\n");
}
