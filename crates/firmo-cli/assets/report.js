// Draws the report from the JSON embedded above it. Every value from the data is set as
// text (textContent, attributes), never parsed as markup: account names come from the CRM.
'use strict';
(function () {
  const data = JSON.parse(document.getElementById('firmo-data').textContent);
  const SVG = 'http://www.w3.org/2000/svg';
  // Dark enough for 3:1 against white (graphics) and white text on badges (4.5:1).
  const OUTCOME_COLORS = {
    written: '#1a7f37', unchanged: '#59636e', skipped: '#9a6700', rejected: '#8250df', failed: '#cf222e',
  };
  const OUTCOMES = Object.keys(OUTCOME_COLORS);
  const PALETTE = ['#0550ae', '#bf3989', '#1a7f37', '#9a6700', '#8250df', '#cf222e', '#116329', '#59636e'];
  const SEVERITY_COLORS = { reject: '#cf222e', flag: '#9a6700' };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  }
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const c of children) node.append(c);
    return node;
  }
  const pct = (x) => `${(x * 100).toFixed(1)} %`;
  const num = (x) => (Math.round(x * 10) / 10).toLocaleString('en');
  const runLabel = (p) => `#${p.run_id}`;

  function table(caption, head, rows, numeric) {
    const t = el('table', {}, el('caption', { class: 'visually-hidden' }, caption));
    t.append(el('thead', {}, el('tr', {}, ...head.map((h, i) => el('th', { scope: 'col', class: numeric(i) ? 'num' : '' }, h)))));
    const body = el('tbody');
    for (const r of rows) body.append(el('tr', {}, ...r.map((c, i) => el(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : { class: numeric(i) ? 'num' : '' }, String(c)))));
    t.append(body);
    return t;
  }

  function legend(series) {
    return el('ul', { class: 'legend' }, ...series.map((s) => {
      const swatch = el('span', { 'aria-hidden': 'true' });
      swatch.style.background = s.color;
      return el('li', {}, swatch, s.name);
    }));
  }

  // Stacked bars, one per run; each series a colour. The numbers are also in a table.
  function stackedBars(figure, id, title, unit, series) {
    const points = data.trend;
    // About the width it is shown at, so its 11px labels stay 11px.
    const W = 360, H = 180, left = 36, bottom = 22, top = 8;
    const totals = points.map((_, i) => series.reduce((sum, s) => sum + s.values[i], 0));
    const max = Math.max(1, ...totals);
    const band = (W - left) / Math.max(points.length, 1);
    const bar = Math.min(42, band * 0.7);
    const y = (v) => top + (H - top - bottom) * (1 - v / max);
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-labelledby': `${id}-t`, 'data-chart': id },
      svg('title', { id: `${id}-t` }, `${title}: ${points.length} runs, most ${num(max)} ${unit}`));
    for (const tick of [0, max / 2, max]) {
      chart.append(svg('line', { x1: left, x2: W, y1: y(tick), y2: y(tick), stroke: '#d1d9e0' }));
      chart.append(svg('text', { x: left - 4, y: y(tick) + 4, 'text-anchor': 'end' }, num(tick)));
    }
    points.forEach((p, i) => {
      const x = left + band * i + (band - bar) / 2;
      let base = 0;
      for (const s of series) {
        const v = s.values[i];
        if (v > 0) {
          chart.append(svg('rect', {
            x, y: y(base + v), width: bar, height: y(base) - y(base + v), fill: s.color,
            'data-series': s.name, 'data-value': v, 'data-run': p.run_id,
          }, svg('title', {}, `run ${p.run_id} · ${s.name}: ${num(v)} ${unit}`)));
        }
        base += v;
      }
      chart.append(svg('text', { x: x + bar / 2, y: H - 6, 'text-anchor': 'middle' }, runLabel(p)));
    });
    if (totals.every((t) => t === 0)) {
      figure.replaceChildren(el('figcaption', {}, title), el('p', { class: 'hint', 'data-empty': id }, `None in the last ${points.length} runs.`));
      return;
    }
    figure.replaceChildren(el('figcaption', { id: `${id}-c` }, title), legend(series), chart);
    const details = el('details', {}, el('summary', {}, 'The numbers'),
      table(title, ['run', ...series.map((s) => s.name)], points.map((p, i) => [runLabel(p), ...series.map((s) => num(s.values[i]))]), (i) => i > 0));
    figure.append(details);
  }

  function subtitle() {
    const newest = data.trend[data.trend.length - 1];
    const parts = [];
    if (data.latest) parts.push(`run ${data.latest.run_id} (${data.latest.kind}), ${data.latest.records} records`);
    if (newest) parts.push(`started ${newest.started_at}`);
    parts.push(`${data.trend.length} runs charted`);
    document.getElementById('subtitle').textContent = parts.join(' · ');
  }

  const filter = { text: '', outcome: '' };
  let applyFilter = () => {};

  function outcomes() {
    const box = document.getElementById('outcomes');
    const newest = data.trend[data.trend.length - 1];
    if (!newest) {
      box.replaceChildren(el('p', { class: 'note' }, 'No real run yet: run `firmo sync` first.'));
      return;
    }
    for (const o of OUTCOMES) {
      const tile = el('button', { type: 'button', class: 'tile', 'aria-pressed': 'false', 'data-outcome': o, 'aria-label': `${newest.outcomes[o]} ${o}: show these accounts` },
        el('strong', {}, String(newest.outcomes[o])), o);
      tile.style.setProperty('--c', OUTCOME_COLORS[o]);
      tile.addEventListener('click', () => {
        const select = document.getElementById('outcome-filter');
        select.value = select.value === o ? '' : o;
        select.dispatchEvent(new Event('change'));
      });
      box.append(tile);
    }
    const why = document.getElementById('why');
    const groups = [['Skipped because', data.latest?.skipped], ['Rejected by', data.latest?.rejected], ['Failed because', data.latest?.failed]];
    for (const [title, counts] of groups) {
      const entries = Object.entries(counts || {});
      if (entries.length === 0) continue;
      why.append(el('div', {}, el('h3', {}, title), el('ul', {}, ...entries.map(([k, n]) => el('li', {}, `${k}: ${n}`)))));
    }
  }

  // Small multiples: each field's coverage over the runs, the newest as a number.
  function coverage() {
    const box = document.getElementById('coverage');
    const fields = (data.latest?.coverage || []).map(([f]) => f);
    const hint = document.getElementById('coverage-hint');
    hint.textContent = 'Share of the accounts with a value, per run (oldest left); runs whose details were pruned have no point.';
    const W = 180, H = 44;
    for (const field of fields) {
      const values = data.trend.map((p) => p.coverage[field]);
      const known = values.map((v, i) => [v, i]).filter(([v]) => typeof v === 'number');
      const now = data.latest.coverage.find(([f]) => f === field)[1];
      const x = (i) => (data.trend.length < 2 ? W / 2 : 4 + (W - 8) * i / (data.trend.length - 1));
      const y = (v) => 4 + (H - 8) * (1 - v);
      const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'data-chart': `coverage-${field}`, 'aria-label': `${field} coverage over ${known.length} runs: ${known.map(([v]) => pct(v)).join(', ')}` },
        svg('rect', { x: 0, y: 0, width: W, height: H, fill: '#f6f8fa' }));
      if (known.length > 1) {
        chart.append(svg('polyline', { points: known.map(([v, i]) => `${x(i)},${y(v)}`).join(' '), fill: 'none', stroke: '#0550ae', 'stroke-width': 2 }));
      }
      for (const [v, i] of known) {
        chart.append(svg('circle', { cx: x(i), cy: y(v), r: 3, fill: '#0550ae', 'data-value': v, 'data-run': data.trend[i].run_id },
          svg('title', {}, `run ${data.trend[i].run_id}: ${pct(v)}`)));
      }
      box.append(el('div', { class: 'multiple' }, el('h3', {}, field), el('div', { class: 'big' }, pct(now)), chart));
    }
    const sources = Object.entries(data.latest?.sources || {});
    const figure = document.getElementById('chart-sources');
    if (sources.length) hbars(figure, 'sources', 'Winning values per source (newest run)', sources);
    else figure.remove();
  }

  // One bar per item, its share of 100 %.
  function hbars(figure, id, title, items) {
    const W = 440, row = 24, left = 90, right = 60;
    const H = items.length * row + 4;
    const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-labelledby': `${id}-t`, 'data-chart': id },
      svg('title', { id: `${id}-t` }, `${title}: ${items.map(([k, v]) => `${k} ${pct(v)}`).join(', ')}`));
    items.forEach(([name, v], i) => {
      const y = i * row + 4;
      chart.append(svg('text', { x: left - 8, y: y + 13, 'text-anchor': 'end' }, name));
      chart.append(svg('rect', { x: left, y, width: W - left - right, height: 16, fill: '#f6f8fa' }));
      chart.append(svg('rect', { x: left, y, width: (W - left - right) * Math.min(Math.max(v, 0), 1), height: 16, fill: PALETTE[i % PALETTE.length], 'data-series': name, 'data-value': v },
        svg('title', {}, `${name}: ${pct(v)}`)));
      chart.append(svg('text', { x: W - right + 6, y: y + 13 }, pct(v)));
    });
    figure.replaceChildren(el('figcaption', {}, title), chart,
      el('details', {}, el('summary', {}, 'The numbers'), table(title, ['source', 'share of the values'], items.map(([s, v]) => [s, pct(v)]), (i) => i > 0)));
  }

  function trends() {
    const providers = [...new Set(data.trend.flatMap((p) => Object.keys(p.credits)))].sort();
    stackedBars(document.getElementById('chart-credits'), 'credits', 'Credits per provider', 'credits',
      providers.map((name, i) => ({ name, color: PALETTE[i % PALETTE.length], values: data.trend.map((p) => p.credits[name] || 0) })));
    stackedBars(document.getElementById('chart-outcomes'), 'outcomes', 'Accounts per outcome', 'accounts',
      OUTCOMES.map((name) => ({ name, color: OUTCOME_COLORS[name], values: data.trend.map((p) => p.outcomes[name] || 0) })));
    const severities = [...new Set(data.trend.flatMap((p) => Object.keys(p.findings)))].sort().reverse();
    stackedBars(document.getElementById('chart-findings'), 'findings', 'Quality findings per severity', 'findings',
      severities.map((name, i) => ({ name, color: SEVERITY_COLORS[name] || PALETTE[i % PALETTE.length], values: data.trend.map((p) => p.findings[name] || 0) })));
  }

  function accuracyText(a) {
    if (!a) return 'not sampled';
    return `${pct(a.rate)} (95 % interval ${pct(a.low)} to ${pct(a.high)}, n = ${a.n}, ${a.sampled_on})`;
  }

  function findings(body) {
    const rows = Object.entries(data.latest?.findings || {});
    if (!rows.length) return;
    const t = table('Findings of the quality rules in the newest run', ['code', 'rule', 'severity', 'accounts'],
      rows.map(([code, [rule, severity, n]]) => [code, rule, severity, n]), (i) => i === 3);
    t.id = 'quality-findings';
    body.append(el('h3', {}, 'Findings of the quality rules (newest run)'), el('div', { class: 'scroll' }, t));
  }

  function quality() {
    const body = document.getElementById('quality-body');
    const q = data.quality;
    if (!q) {
      body.replaceChildren(el('p', { class: 'note' }, 'No accuracy measured yet: `firmo spot-check sample` and `import` turn a person\'s verdicts into accuracy per field and source.'));
      findings(body);
      return;
    }
    const t = el('table', { id: 'quality-fields' }, el('caption', { class: 'visually-hidden' }, 'Quality per field, then per source'));
    t.append(el('thead', {}, el('tr', {}, ...['Field / source', 'Coverage', 'Accuracy', 'Usable', 'Human corrections'].map((h) => el('th', { scope: 'col' }, h)))));
    const tb = el('tbody');
    for (const f of q.fields || []) {
      tb.append(el('tr', { 'data-field': f.field }, el('th', { scope: 'row' }, f.field), el('td', { class: 'num' }, pct(f.coverage)),
        el('td', {}, accuracyText(f.accuracy)), el('td', { class: 'num' }, f.usable == null ? '–' : pct(f.usable)), el('td', {}, '')));
      for (const s of f.sources || []) {
        const c = s.corrections;
        tb.append(el('tr', { class: 'sub', 'data-field': f.field, 'data-source': s.source }, el('th', { scope: 'row' }, `${f.field} from ${s.source}`), el('td', {}, ''),
          el('td', {}, accuracyText(s.accuracy)), el('td', {}, ''),
          el('td', {}, c ? `${c.corrected} of ${c.written} written (${pct(c.rate)})` : '–')));
      }
    }
    t.append(tb);
    body.replaceChildren(el('h3', {}, 'Per field: covered × accurate = usable'), el('div', { class: 'scroll' }, t));
    const agreement = q.agreement || [];
    if (agreement.length) {
      const a = table('Agreement between providers', ['field', 'providers', 'compared', 'agreed', 'rate'],
        agreement.map((r) => [r.field, `${r.a} and ${r.b}`, r.compared, r.agreed, pct(r.rate)]), (i) => i > 1);
      a.id = 'quality-agreement';
      body.append(el('h3', {}, 'Agreement between providers (same field, same account)'), el('div', { class: 'scroll' }, a));
    }
    findings(body);
  }

  function accounts() {
    const tbody = document.querySelector('#account-table tbody');
    const rows = data.accounts.map((a) => {
      const badge = el('span', { class: 'badge' }, a.outcome);
      badge.style.setProperty('--c', OUTCOME_COLORS[a.outcome] || '#59636e');
      // Grouped by provider, a few lines per account instead of one per field.
      const byProvider = {};
      for (const [field, providers] of Object.entries(a.won)) {
        for (const p of providers) (byProvider[p] ||= []).push(field);
      }
      const won = Object.entries(byProvider).sort().map(([p, fields]) => `${p}: ${fields.join(', ')}`);
      const tr = el('tr', { 'data-outcome': a.outcome },
        el('th', { scope: 'row' }, a.name || '(no name)', el('br'), el('span', { class: 'id' }, a.id)),
        el('td', {}, a.domain || '–'), el('td', {}, badge), el('td', {}, a.reason || ''),
        el('td', {}, el('ul', { class: 'won' }, ...won.map((w) => el('li', {}, w)))),
        el('td', { class: 'num' }, String(a.changes)), el('td', {}, a.findings.join(', ')));
      const haystack = [a.id, a.name, a.domain, a.reason, a.outcome, ...won, ...a.findings].join(' ').toLowerCase();
      tbody.append(tr);
      return { tr, a, haystack };
    });
    const select = document.getElementById('outcome-filter');
    for (const o of OUTCOMES) {
      const n = data.accounts.filter((a) => a.outcome === o).length;
      if (n) select.append(el('option', { value: o }, `${o} (${n})`));
    }
    const shown = document.getElementById('shown');
    applyFilter = () => {
      let visible = 0;
      for (const r of rows) {
        const ok = (!filter.outcome || r.a.outcome === filter.outcome) && (!filter.text || r.haystack.includes(filter.text));
        r.tr.hidden = !ok;
        if (ok) visible += 1;
      }
      shown.textContent = `Showing ${visible} of ${rows.length} accounts`;
      for (const t of document.querySelectorAll('.tile')) t.setAttribute('aria-pressed', String(t.dataset.outcome === filter.outcome));
    };
    document.getElementById('search').addEventListener('input', (e) => { filter.text = e.target.value.trim().toLowerCase(); applyFilter(); });
    select.addEventListener('change', (e) => { filter.outcome = e.target.value; applyFilter(); });
    applyFilter();
    if (data.accounts_total > data.accounts.length) {
      document.getElementById('accounts-note').textContent =
        `The first ${data.accounts.length} of ${data.accounts_total} accounts, problems first; \`firmo report --account ID\` shows any one.`;
    }
  }

  function runs() {
    const tbody = document.querySelector('#runs-table tbody');
    for (const r of data.runs) {
      const c = r.counts;
      tbody.append(el('tr', {}, el('th', { scope: 'row' }, String(r.id)), el('td', {}, r.kind + (r.dry_run ? ' (dry run)' : '')), el('td', {}, r.started_at),
        el('td', {}, r.outcome), ...[c.written, c.unchanged, c.skipped, c.rejected, c.failed, num(r.credits)].map((v) => el('td', { class: 'num' }, String(v)))));
    }
  }

  subtitle();
  outcomes();
  coverage();
  trends();
  quality();
  accounts();
  runs();
  document.body.dataset.ready = 'true';
})();
