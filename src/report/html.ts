/**
 * The self-contained index.html: inline CSS, inline SVG charts, PNG data URIs, no script and a Content
 * Security Policy that forbids every fetch, so it reads the same mailed, opened from disk, or offline.
 */
import type { Chart } from './charts.ts';
import type { PublishedBenchmark } from './published.ts';
import type { Qualitative } from './qualitative.ts';
import { METRICS } from './metric-spec.ts';
import { cellText, headerLabel, type Table } from './table.ts';
import type { ExperimentRuns, Stage, TrialRecord } from './types.ts';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const trialAnchor = (id: string) => `trial-${id.replace(/[^A-Za-z0-9_-]/g, '_')}`;

const CSS = `
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;max-width:1180px;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
.meta{color:#666;font-size:.9rem}
figure{margin:1.2rem 0}figcaption{font-size:.9rem;color:#444;margin:.3rem 0}
table.results{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:.4rem 0}
table.results th,table.results td{padding:.25rem .7rem;text-align:right;white-space:nowrap}
table.results th:first-child,table.results td.text{text-align:left}
table.results thead tr{border-top:2px solid #222;border-bottom:1px solid #222}
table.results tbody{border-bottom:2px solid #222}
table.results tr.published td{color:#444}table.results tr.reference td{color:#666;font-style:italic}
table.results tr.first-ours td{border-top:1px solid #222}
table.results td a{color:inherit;text-decoration:none}
table.results td a:hover{text-decoration:underline dotted}
table.results th.note,table.results td.note{color:#a33;font-size:.85rem;text-align:left;white-space:normal;min-width:14rem}
.status-failed{color:#b00}.status-done{color:#070}.status-pending,.status-running{color:#a60}
.chart svg{max-width:100%;height:auto}
.strip{display:flex;gap:.5rem;flex-wrap:wrap}.comparison{display:flex;gap:.5rem;align-items:flex-start}
.comparison figure,.strip figure{margin:0;text-align:center}.comparison figure{flex:1 1 0;min-width:0;max-width:240px}
.comparison img.full{display:block;width:100%}
.comparison img.inset{display:block;width:min(160px,100%);height:auto;margin:.3rem auto 0;border:2px solid #ff2828;image-rendering:pixelated}
.strip img{display:block;width:160px}
code,pre{font-size:.82rem}pre{background:#f6f6f6;padding:.5rem;overflow:auto;max-height:22rem}
table.trials{border-collapse:collapse;font-size:.88rem}table.trials td,table.trials th{padding:.2rem .5rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
.problems{color:#b00;font-size:.85rem}
`;

export function tableHtml(t: Table, n: number): string {
  const hasNotes = t.rows.some((r) => r.note);
  const head = t.columns.map((c) => `<th scope="col">${escapeHtml(headerLabel(c))}</th>`).join('') + (hasNotes ? '<th scope="col" class="note">Notes</th>' : '');
  let seenOurs = false;
  const body = t.rows
    .map((r) => {
      const first = r.kind === 'ours' && !seenOurs && t.rows.some((x) => x.kind === 'published');
      if (r.kind === 'ours') seenOurs = true;
      const cls = [r.kind, first ? 'first-ours' : ''].filter(Boolean).join(' ');
      const tds = t.columns.map((c) => {
        const cell = r.cells[c.key];
        let text = escapeHtml(cellText(cell, c));
        if (cell?.rank === 'best') text = `<strong>${text}</strong>`;
        else if (cell?.rank === 'second') text = `<u>${text}</u>`;
        if (cell?.value && r.kind !== 'reference') {
          // Every number links back to where it came from: a trial, or a published source.
          const href = r.kind === 'ours' ? `#${trialAnchor(r.trialIds[0]!)}` : '#sources';
          const title = r.kind === 'ours' ? `trials: ${r.trialIds.join(', ')}` : (r.source ?? '');
          text = `<a href="${href}" title="${escapeHtml(title)}">${text}</a>`;
        }
        return `<td class="${c.direction ? 'num' : 'text'}">${text}</td>`;
      });
      if (hasNotes) tds.push(`<td class="note">${escapeHtml(r.note ?? '')}</td>`);
      return `<tr class="${cls}">${tds.join('')}</tr>`;
    })
    .join('\n');
  return `<figure class="table" id="${escapeHtml(t.id)}"><figcaption><b>Table ${n}.</b> ${escapeHtml(t.title)}. ${escapeHtml(t.caption)}</figcaption>
<table class="results"><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table></figure>`;
}

function chartHtml(c: Chart, n: number): string {
  return `<figure class="chart" id="${escapeHtml(c.id)}">${c.svg}<figcaption><b>Figure ${n}.</b> ${escapeHtml(c.title)}. ${escapeHtml(c.caption)}</figcaption></figure>`;
}

function qualitativeHtml(q: Qualitative, startN: number): string {
  const parts: string[] = [];
  let n = startN;
  for (const c of q.comparisons) {
    const panels = c.panels
      .map((p) => {
        const cap = p.trialId ? `<a href="#${trialAnchor(p.trialId)}">${escapeHtml(p.caption)}</a>` : escapeHtml(p.caption);
        return `<figure><img class="full" src="${p.full}" alt="${escapeHtml(p.caption)}, ${escapeHtml(c.sequence)} frame ${escapeHtml(c.frame)}"><img class="inset" src="${p.inset}" alt="zoomed region of ${escapeHtml(p.caption)}"><figcaption>${cap}</figcaption></figure>`;
      })
      .join('');
    parts.push(
      `<figure class="qualitative"><div class="comparison">${panels}</div><figcaption><b>Figure ${n++}.</b> Sequence ${escapeHtml(c.sequence)}, frame ${escapeHtml(c.frame)}. The outlined region (x ${c.region.x}, y ${c.region.y}, ${c.region.w}×${c.region.h} px, where the reference frame has most detail) is shown enlarged below each panel.</figcaption></figure>`,
    );
  }
  for (const s of q.strips) {
    const frames = s.frames.map((f) => `<figure><img src="${f.uri}" alt="${escapeHtml(s.sequence)} frame ${escapeHtml(f.name)}"><figcaption>${escapeHtml(f.name)}</figcaption></figure>`).join('');
    parts.push(
      `<figure class="strip-figure"><div class="strip">${frames}</div><figcaption><b>Figure ${n++}.</b> Output frames of sequence ${escapeHtml(s.sequence)}, <a href="#${trialAnchor(s.trialId)}">${escapeHtml(s.label)}</a> (trial ${escapeHtml(s.trialId)}).</figcaption></figure>`,
    );
  }
  return parts.join('\n');
}

function statusText(t: TrialRecord): string {
  const s = t.status;
  if (s.stage === 'failed') return `failed${s.error ? `: ${s.error.split('\n')[0]}` : ''}`;
  if (s.stage === 'done' || s.stage === 'pending') return s.stage;
  return `${s.stage}${s.step !== undefined ? ` (step ${s.step})` : ''}`;
}

function statusClass(stage: Stage): string {
  return stage === 'done' || stage === 'failed' || stage === 'pending' ? `status-${stage}` : 'status-running';
}

function trialsHtml(runs: ExperimentRuns): string {
  const rows = runs.trials.map((t) => {
    const m = t.metrics?.overall ?? {};
    const metrics = METRICS.map((spec) => spec.key)
      .filter((k) => m[k] !== undefined)
      .map((k) => `${k} ${Number(m[k]!.toPrecision(6))}`) // raw value, float noise trimmed
      .join(', ');
    const problems = t.problems.length > 0 ? `<div class="problems">${t.problems.map(escapeHtml).join('<br>')}</div>` : '';
    const config = t.config ? `<details><summary>config.json</summary><pre>${escapeHtml(JSON.stringify(t.config, null, 2))}</pre></details>` : '<i>no config.json</i>';
    return `<tr id="${trialAnchor(t.id)}"><td><code>${escapeHtml(t.id)}</code></td><td>${escapeHtml(t.info.label)}</td><td>${t.info.seed ?? '–'}</td>
<td class="${statusClass(t.status.stage)}">${escapeHtml(statusText(t))}</td><td>${escapeHtml(metrics || '–')}</td>
<td>${t.info.mlflowRunId ? `<code>${escapeHtml(t.info.mlflowRunId)}</code>` : '–'}</td><td>${config}${problems}</td></tr>`;
  });
  return `<table class="trials"><thead><tr><th>trial</th><th>label</th><th>seed</th><th>status</th><th>metrics</th><th>MLflow run</th><th>details</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table>`;
}

function sourcesHtml(published: readonly PublishedBenchmark[]): string {
  if (published.length === 0) return '<p>No published numbers are stored (reports/published/*.json).</p>';
  return published
    .map((b) => {
      const rows = b.rows
        .map((r) => `<li><b>${escapeHtml(r.method)}</b>: ${escapeHtml(r.source.citation)}; ${escapeHtml(r.source.table)}. <i>${escapeHtml(r.source.verification)}</i></li>`)
        .join('');
      const missing = b.missing ? `<p class="meta">Not included: ${escapeHtml(b.missing)}</p>` : '';
      return `<h3>${escapeHtml(b.title)}</h3><ul>${rows}</ul>${missing}`;
    })
    .join('\n');
}

export interface HtmlInput {
  runs: ExperimentRuns;
  tables: readonly Table[];
  charts: readonly Chart[];
  qualitative: Qualitative;
  published: readonly PublishedBenchmark[];
  generatedAt: Date;
}

export function renderHtml(x: HtmlInput): string {
  const counts = new Map<string, number>();
  for (const t of x.runs.trials) counts.set(t.status.stage, (counts.get(t.status.stage) ?? 0) + 1);
  const summary = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  const tables = x.tables.map((t, i) => tableHtml(t, i + 1)).join('\n');
  const charts = x.charts.map((c, i) => chartHtml(c, i + 1)).join('\n');
  const qual = qualitativeHtml(x.qualitative, x.charts.length + 1);
  const title = `divd report: ${x.runs.experiment}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${CSS}</style></head>
<body>
<header><h1>${escapeHtml(title)}</h1>
<p class="meta">${x.runs.trials.length} trials (${escapeHtml(summary)}) · runs directory <code>${escapeHtml(x.runs.dir)}</code> · generated ${escapeHtml(x.generatedAt.toISOString())} ·
tables also as <a href="tables.md">tables.md</a>, <a href="tables.tex">tables.tex</a>, <a href="results.csv">results.csv</a></p>
<p class="meta">Best value in <strong>bold</strong>, second best <u>underlined</u>; ↑ higher is better, ↓ lower is better; a ± b is the mean ± sample standard deviation over seeds. Every number links to its trial or source.</p></header>
<section id="tables"><h2>Tables</h2>
${tables}
</section>
<section id="charts"><h2>Charts</h2>
${charts || '<p>No trial has logged training curves or metrics yet.</p>'}
</section>
<section id="qualitative"><h2>Qualitative comparison</h2>
${qual || '<p>No trial has written samples yet.</p>'}
</section>
<section id="trials"><h2>Trials</h2>
${trialsHtml(x.runs)}
</section>
<section id="sources"><h2>Sources of published numbers</h2>
${sourcesHtml(x.published)}
</section>
</body></html>
`;
}
