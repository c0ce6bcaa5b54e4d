/// The report's CSS, inlined so the file works offline and can be mailed around.
enum ReportStylesheet {
    static let css = """
        :root { --ink: #0f172a; --muted: #64748b; --line: #e2e8f0; --page: #f5f7fa; --card: #ffffff; --accent: #2563eb; }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--page); color: var(--ink);
          font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
          font-variant-numeric: tabular-nums; }
        main { max-width: 1280px; margin: 0 auto; padding: 32px 28px 48px; }
        header { margin-bottom: 20px; }
        .eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 11px; font-weight: 600; color: var(--accent); }
        h1 { font-size: 26px; margin: 2px 0 4px; font-weight: 650; letter-spacing: -.01em; word-break: break-all; }
        h2 { font-size: 17px; margin: 36px 0 12px; font-weight: 620; }
        h3 { font-size: 13px; margin: 0; font-weight: 600; }
        .meta { color: var(--muted); margin: 0; }
        .summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; }
        .stat { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
        .stat .label { color: var(--muted); font-size: 12px; }
        .stat .value { font-size: 22px; white-space: nowrap; font-weight: 650; letter-spacing: -.02em; line-height: 1.25; }
        .stat .detail { color: var(--muted); font-size: 12px; }
        .stat.alert .value { color: #dc2626; }
        .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 16px; }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px 10px; min-width: 0; }
        .card-head { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; flex-wrap: wrap; margin-bottom: 6px; }
        .legend-items { display: flex; gap: 14px; flex-wrap: wrap; color: var(--muted); font-size: 12px; }
        .legend-items span { display: inline-flex; align-items: center; gap: 6px; }
        .swatch { width: 14px; height: 0; border-top: 2.5px solid; display: inline-block; }
        .swatch.dashed { border-top-style: dashed; }
        .swatch.mark { width: 0; height: 12px; border-top: 0; border-left: 2px solid; }
        .swatch.band { height: 0; border-top: 10px solid; opacity: 0.25; }
        .empty { color: var(--muted); padding: 28px 0; text-align: center; font-size: 13px; }
        .notice { background: #fffbeb; border: 1px solid #fde68a; color: #92400e; border-radius: 8px; padding: 8px 12px; margin: 12px 0 0; font-size: 13px; }
        svg { display: block; width: 100%; height: auto; }
        svg text { font-family: inherit; }
        .chart text { font-size: 11px; fill: var(--muted); }
        .chart .axis-label, .heatmap .axis-label { font-size: 11px; fill: var(--ink); font-weight: 600; }
        .chart .grid line { stroke: #eef2f6; }
        .chart .axis, .chart .tick { stroke: #cbd5e1; }
        .chart .series { fill: none; stroke-linejoin: round; stroke-linecap: round; }
        .chart .points circle { stroke: #fff; stroke-width: 1; }
        .chart .points circle:hover { r: 5; }
        .chart .marker line { stroke-width: 1.2; stroke-dasharray: 3 3; }
        .chart .marker line.hit { stroke: transparent; stroke-width: 10; stroke-dasharray: none; }
        .strips .chart + .chart { margin-top: 4px; }
        .heatmap .labels text { fill: #334155; }
        .heatmap .cell-grid line { stroke: #ffffff; stroke-width: 1; }
        .heatmap .frame { fill: none; stroke: #cbd5e1; }
        .heatmap .cell:hover rect { stroke: #0f172a; stroke-width: 1.5; }
        .heatmap .legend text { font-size: 10px; fill: var(--muted); }
        .validation { display: grid; grid-template-columns: minmax(0, 1.3fr) minmax(430px, 1fr); gap: 16px; align-items: start; }
        @media (max-width: 1000px) { .validation { grid-template-columns: 1fr; } .grid { grid-template-columns: 1fr; } }
        table { border-collapse: collapse; width: 100%; font-size: 13px; }
        th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; border-bottom: 1px solid var(--line); padding: 6px 10px; background: var(--card); }
        td { padding: 5px 10px; border-bottom: 1px solid #f1f5f9; vertical-align: middle; }
        td.num, th.num { text-align: right; }
        tbody tr:hover td { background: #f8fafc; }
        tfoot td { white-space: nowrap; font-weight: 600; border-top: 1px solid var(--line); border-bottom: 0; }
        .scroll { max-height: 560px; overflow: auto; padding-right: 10px; }
        .scroll thead th { position: sticky; top: 0; }
        .bar { display: inline-block; height: 6px; border-radius: 3px; background: var(--accent); vertical-align: middle; margin-left: 8px; opacity: .75; }
        .bar-track { display: inline-block; width: 44px; height: 6px; border-radius: 3px; background: #e2e8f0; vertical-align: middle; margin-left: 8px; position: relative; }
        .bar-track .fill { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 3px; }
        .config td:first-child { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 12px; color: #334155; white-space: nowrap; }
        .config td:last-child { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 12px; overflow-wrap: anywhere; }
        /* A phone (390 px): tighter cells, and a table still too wide scrolls inside its card, never the page. */
        @media (max-width: 600px) {
            .card { overflow-x: auto; padding: 12px 10px 8px; }
            table { font-size: 12px; }
            th, td { padding: 5px 5px; }
            .config td:first-child { white-space: normal; overflow-wrap: anywhere; }
        }
        footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
        """
}
