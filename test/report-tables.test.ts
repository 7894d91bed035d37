import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { markRanks, formatValue, type Table, type Row } from '../src/report/table.ts';
import { summarize, fixed } from '../src/report/stats.ts';
import { escapeLatex, tableToLatex } from '../src/report/format-latex.ts';
import { tableToMarkdown } from '../src/report/format-markdown.ts';
import { csvField, toCsv } from '../src/report/format-csv.ts';
import { groupTrials, formatSweptValue, groupNote, variantAxes } from '../src/report/groups.ts';
import { ablationTable, INPUT_ROW_LABEL, mainTables } from '../src/report/build-tables.ts';
import { buildCharts } from '../src/report/build-charts.ts';
import { parseMetrics } from '../src/report/run-dir.ts';
import { tableHtml } from '../src/report/html.ts';
import { parsePublished } from '../src/report/published.ts';
import type { TrialRecord, TrialStatus, MetricValues, JsonValue } from '../src/report/types.ts';

function row(name: string, values: Record<string, number>): Row {
  const cells: Row['cells'] = { method: { text: name } };
  for (const [k, v] of Object.entries(values)) cells[k] = { value: { mean: v, std: 0, n: 1 } };
  return { kind: 'ours', cells, trialIds: [name] };
}

function table(rows: Row[]): Table {
  return {
    id: 't',
    title: 'T',
    caption: 'c',
    columns: [
      { key: 'method', label: 'Method' },
      { key: 'psnr', label: 'PSNR', direction: 'up', digits: 2 },
      { key: 'lpips', label: 'LPIPS', direction: 'down', digits: 3 },
    ],
    rows,
  };
}

const ranks = (t: Table, key: string) => t.rows.map((r) => r.cells[key]?.rank ?? '-');

describe('best / second marking', () => {
  it('higher-is-better and lower-is-better columns rank in opposite directions', () => {
    const t = markRanks(table([row('a', { psnr: 30, lpips: 0.3 }), row('b', { psnr: 32, lpips: 0.1 }), row('c', { psnr: 31, lpips: 0.2 })]));
    assert.deepEqual(ranks(t, 'psnr'), ['-', 'best', 'second']);
    assert.deepEqual(ranks(t, 'lpips'), ['-', 'best', 'second']);
    const u = markRanks(table([row('a', { psnr: 30, lpips: 0.1 }), row('b', { psnr: 29, lpips: 0.3 }), row('c', { psnr: 28, lpips: 0.2 })]));
    assert.deepEqual(ranks(u, 'psnr'), ['best', 'second', '-']);
    assert.deepEqual(ranks(u, 'lpips'), ['best', '-', 'second']);
  });

  it('values equal at printed precision tie: both best, and second is the next distinct value', () => {
    const t = markRanks(table([row('a', { psnr: 31.004 }), row('b', { psnr: 30.996 }), row('c', { psnr: 30.5 }), row('d', { psnr: 30.5 }), row('e', { psnr: 29 })]));
    assert.deepEqual(ranks(t, 'psnr'), ['best', 'best', 'second', 'second', '-']);
  });

  it('missing values are skipped and a lone value is not marked', () => {
    const t = markRanks(table([row('a', { psnr: 31 }), row('b', { lpips: 0.2 }), row('c', {})]));
    assert.deepEqual(ranks(t, 'psnr'), ['-', '-', '-']);
    const all = markRanks(table([row('a', { psnr: 31 }), row('b', { psnr: 31 })]));
    assert.deepEqual(ranks(all, 'psnr'), ['best', 'best']);
  });
});

describe('mean ± std over seeds', () => {
  it('uses the sample standard deviation and ignores absent values', () => {
    const s = summarize([1, 2, 3, 4, undefined]);
    assert.equal(s?.n, 4);
    assert.equal(s?.mean, 2.5);
    assert.ok(Math.abs(s!.std - Math.sqrt(5 / 3)) < 1e-12);
    assert.deepEqual(summarize([7]), { mean: 7, std: 0, n: 1 });
    assert.equal(summarize([undefined, Number.NaN]), undefined);
  });

  it('prints ± only with several seeds, and never "-0.00"', () => {
    assert.equal(formatValue({ mean: 31.256, std: 0.1234, n: 3 }, 2), '31.26 ± 0.12');
    assert.equal(formatValue({ mean: 31.256, std: 0, n: 1 }, 2), '31.26');
    assert.equal(fixed(-0.0001, 2), '0.00');
    assert.equal(fixed(-0.5, 1), '-0.5');
  });
});

describe('LaTeX output', () => {
  it('escapes every special character of body text', () => {
    assert.equal(escapeLatex('a_b & 50% #1 $x$ {y} ~ ^ \\'), 'a\\_b \\& 50\\% \\#1 \\$x\\$ \\{y\\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{}');
    assert.equal(escapeLatex('PSNR↑ ± ×'), 'PSNR$\\uparrow$ $\\pm$ $\\times$');
  });

  it('is a booktabs table with bold best, underlined second, $\\pm$ and escaped labels', () => {
    const r1 = row('win_4 & more', { psnr: 32 });
    r1.cells.psnr = { value: { mean: 32, std: 0.5, n: 2 } };
    const tex = tableToLatex(markRanks(table([r1, row('b', { psnr: 31 }), row('c', { psnr: 30 })])));
    for (const s of ['\\toprule', '\\midrule', '\\bottomrule', '\\begin{tabular}{lcc}']) assert.ok(tex.includes(s), s);
    assert.ok(tex.includes('win\\_4 \\& more & \\textbf{32.00 $\\pm$ 0.50}'), tex);
    assert.ok(tex.includes('b & \\underline{31.00}'), tex);
    assert.ok(tex.includes('PSNR$\\uparrow$ & LPIPS$\\downarrow$'), tex);
  });
});

describe('Markdown and CSV output', () => {
  it('Markdown marks best in bold, second underlined and escapes pipes', () => {
    const md = tableToMarkdown(markRanks(table([row('a|b', { psnr: 32 }), row('c', { psnr: 31 })])));
    assert.match(md, /\| a\\\|b \| \*\*32\.00\*\* \|/);
    assert.match(md, /\| c \| <u>31\.00<\/u> \|/);
    assert.match(md, /PSNR↑ \| LPIPS↓/);
  });

  it('CSV quotes fields with commas, quotes and line breaks', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField(undefined), '');
    assert.equal(toCsv(['x', 'y'], [[1, 'a\nb']]), 'x,y\r\n1,"a\nb"\r\n');
  });
});

function trial(id: string, swept: Record<string, JsonValue>, status: TrialStatus, overall?: MetricValues): TrialRecord {
  return {
    id,
    dir: `/runs/x/${id}`,
    info: { id, label: id, swept },
    config: { data: { dataset: 'GoPro' } },
    status,
    ...(overall ? { metrics: { overall, sequences: {} } } : {}),
    log: [],
    samples: { frames: {} },
    problems: [],
  };
}

describe('tables from trials', () => {
  const done: TrialStatus = { stage: 'done' };
  const trials = [
    trial('a1', { 'model.windows': [4, 3, 2, 1], 'train.seed': 1 }, done, { psnr: 30, lpips: 0.2 }),
    trial('a2', { 'model.windows': [4, 3, 2, 1], 'train.seed': 2 }, done, { psnr: 32, lpips: 0.1 }),
    trial('b1', { 'model.windows': [3, 2, 1, 1], 'train.seed': 1 }, done, { psnr: 29, lpips: 0.3 }),
    trial('b2', { 'model.windows': [3, 2, 1, 1], 'train.seed': 2 }, { stage: 'failed', error: 'NaN loss at step 40\nstack' }),
    trial('c1', { 'model.windows': [6, 4, 3, 2], 'train.seed': 1 }, { stage: 'training', step: 1200 }),
  ];

  it('groups seeds, averages them and keeps failed and running trials visible', () => {
    const groups = groupTrials(trials);
    assert.deepEqual(groups.map((g) => g.label), ['windows=[4,3,2,1]', 'windows=[3,2,1,1]', 'windows=[6,4,3,2]']);
    const t = ablationTable('abl', groups)!;
    assert.deepEqual(t.columns.map((c) => c.key), ['axis:model.windows', 'psnr', 'lpips']);
    assert.equal(t.rows.length, 3);
    assert.deepEqual(t.rows[0]!.cells.psnr?.value, { mean: 31, std: Math.SQRT2, n: 2 });
    assert.equal(t.rows[0]!.cells.psnr?.rank, 'best');
    assert.equal(t.rows[1]!.cells.psnr?.rank, 'second');
    assert.equal(t.rows[1]!.note, '1 of 2 seeds done; b2 failed: NaN loss at step 40');
    assert.equal(t.rows[2]!.cells.psnr, undefined);
    assert.equal(t.rows[2]!.note, 'running (training, step 1200)');
    assert.equal(groupNote(groups[0]!), '');
  });

  it('the main table puts published rows beside ours and ranks across both', () => {
    const published = parsePublished(
      {
        dataset: 'gopro',
        title: 'GoPro',
        rows: [{ method: 'X', metrics: { psnr: 30.5 }, source: { citation: 'P', table: 'Table 1', verification: 'read' } }],
      },
      'gopro.json',
    );
    const [t] = mainTables('abl', groupTrials(trials), [published]);
    assert.equal(t!.rows[0]!.kind, 'published');
    assert.equal(t!.rows[0]!.source, 'P, Table 1');
    assert.equal(t!.rows[0]!.cells.psnr?.rank, 'second');
    assert.equal(t!.rows[1]!.cells.psnr?.rank, 'best');
  });

  it('formats MRPE-style boolean records as the parts that are on', () => {
    assert.equal(formatSweptValue({ framePE: true, relBias: false }), 'framePE');
    assert.equal(formatSweptValue({ framePE: false, relBias: false }), 'none');
    assert.equal(formatSweptValue({ framePE: true, relBias: true }), 'framePE+relBias');
  });

  it('published data with an unknown metric or no source is rejected, naming the field', () => {
    assert.throws(() => parsePublished({ dataset: 'd', title: 't', rows: [{ method: 'm', metrics: { psnrr: 1 }, source: {} }] }, 'f.json'), /f\.json: rows\[0\]\.metrics\.psnrr/);
    assert.throws(() => parsePublished({ dataset: 'd', title: 't', rows: [{ method: 'm', metrics: { psnr: 1 } }] }, 'f.json'), /rows\[0\]\.source/);
  });
});

describe('the blurry-input reference row', () => {
  const done: TrialStatus = { stage: 'done' };
  const withInput = (id: string, windows: number[], psnr: number, input: MetricValues): TrialRecord => {
    const t = trial(id, { 'model.windows': windows }, done, { psnr, ssim: 0.9 });
    t.metrics!.input = input;
    return t;
  };

  it('metrics.json `input` is read; a non-object is a named problem', () => {
    const problems: string[] = [];
    const m = parseMetrics({ metrics: { psnr: 30 }, input: { psnr: 27.5, ssim: 0.88 } }, 'm.json', problems);
    assert.deepEqual(m.input, { psnr: 27.5, ssim: 0.88 });
    parseMetrics({ metrics: { psnr: 30 }, input: 3 }, 'm.json', problems);
    assert.deepEqual(problems, ['m.json: input: expected an object']);
  });

  it('heads the ablation and main tables, unranked even when it beats every trial, and is named in the captions', () => {
    const input = { psnr: 31, ssim: 0.95 };
    const groups = groupTrials([withInput('a', [4, 2, 1], 30, input), withInput('b', [2, 1, 1], 29, input)]);
    const t = ablationTable('abl', groups)!;
    assert.equal(t.rows.length, 3);
    assert.equal(t.rows[0]!.kind, 'reference');
    assert.equal(t.rows[0]!.cells['axis:model.windows']?.text, INPUT_ROW_LABEL);
    assert.equal(t.rows[0]!.cells.psnr?.value?.mean, 31);
    assert.equal(t.rows[0]!.cells.psnr?.rank, undefined);
    assert.equal(t.rows[1]!.cells.psnr?.rank, 'best');
    assert.equal(t.rows[2]!.cells.psnr?.rank, 'second');
    assert.match(t.caption, /Blurry input \(no restoration\)" scores the test set's blurry frames/);
    const [main] = mainTables('abl', groups, []);
    assert.equal(main!.rows[0]!.kind, 'reference');
    assert.equal(main!.rows[0]!.cells.method?.text, INPUT_ROW_LABEL);
    const latex = tableToLatex(t).split('\n');
    const refLine = latex.findIndex((l) => l.startsWith(INPUT_ROW_LABEL.replace(/[()]/g, (c) => c)));
    assert.ok(refLine > 0 && latex[refLine + 1] === '\\midrule', 'reference row, then a rule before the trials');
    assert.ok(!latex[refLine]!.includes('textbf'), 'never marked best');
    const html = tableHtml(t, 1);
    assert.match(html, /<tr class="reference"><td class="text">Blurry input \(no restoration\)<\/td><td class="num">31\.00<\/td>/);
  });

  it('is left out when the trials were scored on different test sets, or recorded no input', () => {
    const groups = groupTrials([withInput('a', [4, 2, 1], 30, { psnr: 27 }), withInput('b', [2, 1, 1], 29, { psnr: 26 })]);
    assert.ok(ablationTable('abl', groups)!.rows.every((r) => r.kind === 'ours'));
    assert.ok(ablationTable('abl', groupTrials(trials2()))!.rows.every((r) => r.kind === 'ours'));
  });

  it('keeps the metrics every trial recorded when some recorded fewer (e.g. the input loss, added later)', () => {
    const groups = groupTrials([withInput('a', [4, 2, 1], 30, { psnr: 27, loss: 0.0138 }), withInput('b', [2, 1, 1], 29, { psnr: 27 })]);
    const row = ablationTable('abl', groups)!.rows[0]!;
    assert.equal(row.kind, 'reference');
    assert.equal(row.cells.psnr?.value?.mean, 27);
    assert.equal(row.cells.loss, undefined, 'one trial has no input loss: left out, not taken from the other');
  });

  function trials2(): TrialRecord[] {
    return [trial('x', { 'model.windows': [4, 2, 1] }, done, { psnr: 30 }), trial('y', { 'model.windows': [2, 1, 1] }, done, { psnr: 29 })];
  }
});

describe('variants (named rows such as the MRPE ablation)', () => {
  const done: TrialStatus = { stage: 'done' };
  const mrpe = (framePE: boolean, relBias: boolean) => ({ 'model.mrpe.framePE': framePE, 'model.mrpe.relBias': relBias });
  const named = (id: string, variant: string, swept: Record<string, JsonValue>, overall?: MetricValues): TrialRecord => {
    const t = trial(id, swept, done, overall);
    return { ...t, info: { ...t.info, variant } };
  };
  const rows: [string, boolean, boolean, number][] = [
    ['none', false, false, 0.0108],
    ['frame PE only', true, false, 0.0106],
    ['relative bias only', false, true, 0.0105],
    ['full', true, true, 0.0104],
  ];

  it('label rows by the variant name and keep the values it sets as columns', () => {
    const trials = rows.flatMap(([name, f, r, loss], i) => [
      named(`${i}a`, name, { ...mrpe(f, r), 'train.seed': 0 }, { psnr: 25 + i, loss }),
      named(`${i}b`, name, { ...mrpe(f, r), 'train.seed': 1 }, { psnr: 26 + i, loss: loss + 0.0002 }),
    ]);
    const groups = groupTrials(trials);
    assert.deepEqual(groups.map((g) => g.label), ['none', 'frame PE only', 'relative bias only', 'full']);
    assert.deepEqual(groups.map((g) => g.trials.length), [2, 2, 2, 2]);
    assert.deepEqual([...variantAxes(trials)].sort(), ['model.mrpe.framePE', 'model.mrpe.relBias']);
    const t = ablationTable('mrpe', groups)!;
    assert.deepEqual(t.columns.map((c) => c.key).slice(0, 3), ['variant', 'axis:model.mrpe.framePE', 'axis:model.mrpe.relBias']);
    assert.deepEqual(t.rows.map((r) => r.cells.variant?.text), ['none', 'frame PE only', 'relative bias only', 'full']);
    assert.deepEqual(t.rows.map((r) => r.cells['axis:model.mrpe.framePE']?.text), ['false', 'true', 'false', 'true']);
    assert.equal(t.rows[3]!.cells.loss?.rank, 'best');
    const [main] = mainTables('mrpe', groups, []);
    assert.deepEqual(main!.rows.map((r) => r.cells.method?.text), ['Ours: none', 'Ours: frame PE only', 'Ours: relative bias only', 'Ours: full']);
  });

  it('a grid crossed with the variants stays in the label, and two variants that set the same values stay apart', () => {
    const trials = [
      named('a', 'none', { ...mrpe(false, false), 'model.windows': [2, 1, 1] }),
      named('b', 'none', { ...mrpe(false, false), 'model.windows': [4, 2, 1] }),
      named('c', 'full', { ...mrpe(true, true), 'model.windows': [2, 1, 1] }),
      named('d', 'also none', { ...mrpe(false, false), 'model.windows': [2, 1, 1] }),
    ];
    assert.deepEqual(
      groupTrials(trials).map((g) => g.label),
      ['none, windows=[2,1,1]', 'none, windows=[4,2,1]', 'full, windows=[2,1,1]', 'also none, windows=[2,1,1]'],
    );
  });

  it('charts the metrics against the variant names instead of each part alone', async () => {
    const trials = rows.map(([name, f, r, loss], i) => named(`${i}`, name, mrpe(f, r), { psnr: 25 + i, loss }));
    const charts = await buildCharts(groupTrials(trials), []);
    const titles = charts.map((c) => c.title);
    assert.ok(titles.includes('Metrics against variant'), titles.join(' | '));
    assert.ok(!titles.some((t) => t.includes('framePE') || t.includes('relBias')), titles.join(' | '));
    const chart = charts.find((c) => c.title === 'Metrics against variant')!;
    for (const [name] of rows) assert.ok(chart.svg.includes(name), `${name} on the x axis`);
  });
});
