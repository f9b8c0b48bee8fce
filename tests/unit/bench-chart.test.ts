/**
 * bench/chart.ts: the bench's results table as an SVG bar chart (each bar
 * the median, on its scenario's own scale), parsed from the markdown the
 * bench writes.
 */
import { chartSvg, resultsTable } from "../../bench/chart.ts";
import { describe, expect, test } from "../support/harness.ts";

const MARKDOWN = `# berth benchmarks

| scenario | berth (node) | floor | ansible |
| --- | ---: | ---: | ---: |
| (a) first converge | 2.00 (1.90-2.10) | 1.00 (0.90-1.10) | 8.00 (7.50-8.50) |
| (b) no-op | 0.40 (0.30-0.50) | - | 4.00 (4.00-4.00) |

| other | table |
| --- | --- |
`;

describe("bench chart", () => {
  test("resultsTable() reads the first table's medians, minima and maxima; a cell without a figure is none", () => {
    const table = resultsTable(MARKDOWN);
    expect(table?.tools).toEqual(["berth (node)", "floor", "ansible"]);
    expect(table?.rows.map((r) => r.scenario)).toEqual(["(a) first converge", "(b) no-op"]);
    expect(table?.rows[0]?.figures[0]).toEqual({ median: 2, min: 1.9, max: 2.1 });
    expect(table?.rows[1]?.figures[1]).toBeUndefined();
    expect(resultsTable("no table here")).toBeUndefined();
  });

  test("chartSvg() draws one bar per figure, as long as its median on its scenario's scale, labelled", () => {
    const svg = chartSvg(resultsTable(MARKDOWN) as NonNullable<ReturnType<typeof resultsTable>>, ["t & <t>"]);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain("t &amp; &lt;t&gt;");
    const widths = [...svg.matchAll(/<rect x="150" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    // (a): 2.00, 1.00 and 8.00 of a scale up to 8.50; (b): 0.40 and 4.00 of 4.00 (420 px of plot).
    expect(widths).toEqual([98.8, 49.4, 395.3, 42, 420]);
    expect(svg).toContain("no figure");
    expect(svg).toContain(">8.00 s</text>");
  });
});
