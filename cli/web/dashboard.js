// The polysweep dashboard: draws what GET /api/data returns (or, in a report
// written by `polysweep report`, the data embedded in the page) with Chart.js.
// Live, it asks again every two seconds and updates the charts in place.
(function () {
  'use strict';

  const state = { data: null, selected: null, charts: {}, updates: 0, errors: [] };
  window.addEventListener('error', (e) => state.errors.push(String(e.message)));
  window.addEventListener('unhandledrejection', (e) => state.errors.push(String(e.reason)));
  const consoleError = console.error.bind(console);
  console.error = (...args) => { state.errors.push(args.join(' ')); consoleError(...args); };

  // What tests and people can ask the page.
  window.polysweepDashboard = {
    updates: () => state.updates,
    errors: () => state.errors.slice(),
    lossPoints: () => (state.charts.loss ? state.charts.loss.data.datasets.reduce((n, d) => n + d.data.length, 0) : 0),
    trials: () => (state.data ? state.data.status.trials.length : 0),
  };

  const palette = ['#3b7ddd', '#e8590c', '#2f9e44', '#c2255c', '#7048e8', '#0c8599', '#f08c00', '#5c940d',
                   '#a61e4d', '#1864ab', '#d9480f', '#087f5b'];
  const color = (id) => palette[(id - 1) % palette.length];
  const fixed = (v, d) => (v === null || v === undefined || !isFinite(v) ? '-' : Number(v).toFixed(d));
  const el = (id) => document.getElementById(id);

  function duration(s) {
    if (s === null || s === undefined || s < 0) return '-';
    s = Math.round(s);
    if (s >= 3600) return Math.floor(s / 3600) + 'h' + String(Math.floor(s / 60) % 60).padStart(2, '0') + 'm';
    if (s >= 60) return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
    return s + 's';
  }

  function rankTrials(status) {
    const usable = status.trials.filter((t) => t.has_metric && t.state !== 'failed' && isFinite(t.metric));
    usable.sort((a, b) => (a.infeasible !== b.infeasible ? (a.infeasible ? 1 : -1)
      : (status.maximize ? b.metric - a.metric : a.metric - b.metric) || a.id - b.id));
    return usable;
  }

  function lineChart(canvas, yTitle) {
    return new Chart(el(canvas), {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false, parsing: false, normalized: true, maintainAspectRatio: false,
        scales: { x: { type: 'linear', title: { display: true, text: 'step' } },
                  y: { title: { display: true, text: yTitle } } },
        plugins: { legend: { position: 'right', labels: { boxWidth: 10 } } },
        elements: { point: { radius: 0 }, line: { borderWidth: 1.5 } },
      },
    });
  }

  function makeCharts() {
    state.charts.loss = lineChart('loss-chart', 'loss');
    state.charts.objective = lineChart('objective-chart', 'objective');
    state.charts.objective.options.elements.point.radius = 3;
    state.charts.language = new Chart(el('language-chart'), {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'macro-F1', data: [], backgroundColor: '#3b7ddd' }] },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { min: 0, max: 1 } },
                 plugins: { legend: { display: false } } },
    });
    state.charts.hparam = new Chart(el('hparam-chart'), {
      type: 'scatter',
      data: { datasets: [{ label: 'trials', data: [], pointRadius: 5 }] },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } },
                 scales: { x: { type: 'linear', title: { display: true, text: '' } },
                           y: { title: { display: true, text: 'objective' } } } },
    });
    state.charts.rung = new Chart(el('rung-chart'), {
      type: 'scatter',
      data: { datasets: [{ label: 'promoted', data: [], backgroundColor: '#2f9e44', pointRadius: 5 },
                         { label: 'stopped at the rung', data: [], backgroundColor: '#adb5bd', pointRadius: 5 }] },
      options: { animation: false, maintainAspectRatio: false,
                 scales: { x: { type: 'linear', title: { display: true, text: 'rung (step)' } },
                           y: { title: { display: true, text: 'score (higher is better)' } } } },
    });
    state.charts.parallel = new Chart(el('parallel-chart'), {
      type: 'line',
      data: { labels: [], datasets: [] },
      options: {
        animation: false, maintainAspectRatio: false,
        scales: { x: { type: 'category' }, y: { min: -0.05, max: 1.05, ticks: { display: false }, grid: { display: false } } },
        plugins: { legend: { display: false },
                   tooltip: { callbacks: { label: (c) => c.dataset.label + ': ' + c.dataset.raw[c.dataIndex] } } },
        elements: { point: { radius: 2 }, line: { borderWidth: 1.5 } },
      },
    });
    state.charts.importance = new Chart(el('importance-chart'), {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'importance', data: [], backgroundColor: '#7048e8' }] },
      options: { animation: false, maintainAspectRatio: false, indexAxis: 'y', scales: { x: { min: 0, max: 1 } },
                 plugins: { legend: { display: false } } },
    });
    el('hparam').addEventListener('change', () => render());
  }

  // Each value of one axis placed in [0, 1] (`place`), and what the axis
  // spans (`range`): numbers linearly (or on a log scale when they span over
  // 20x), words evenly in sorted order.
  function axisPlacer(values) {
    const numbers = values.map(Number);
    if (numbers.length > 0 && numbers.every((x) => isFinite(x))) {
      const log = Math.min(...numbers) > 0 && Math.max(...numbers) / Math.min(...numbers) > 20;
      const f = (x) => (log ? Math.log(x) : x);
      const lo = Math.min(...numbers.map(f)), hi = Math.max(...numbers.map(f));
      const short = (x) => Number(x.toPrecision(3)).toString();
      return { place: (v) => (hi > lo ? (f(Number(v)) - lo) / (hi - lo) : 0.5),
               range: short(Math.min(...numbers)) + ' .. ' + short(Math.max(...numbers)) + (log ? ' (log)' : '') };
    }
    const words = Array.from(new Set(values)).sort();
    return { place: (v) => (words.length > 1 ? words.indexOf(v) / (words.length - 1) : 0.5),
             range: words.join(' / ') };
  }

  function renderParallel(s) {
    const trials = rankTrials(s);
    const names = Array.from(new Set(trials.flatMap((t) => Object.keys(t.hparams)))).sort();
    const placers = names.map((n) => axisPlacer(trials.filter((t) => n in t.hparams).map((t) => t.hparams[n])));
    const metricAxis = axisPlacer(trials.map((t) => t.metric));
    const metricPlace = metricAxis.place;
    const chart = state.charts.parallel;
    // Each axis labelled with its name and what it spans (bottom to top).
    chart.data.labels = names.map((n, i) => [n, placers[i].range]).concat([[s.metric, metricAxis.range]]);
    chart.data.datasets = trials.map((t) => {
      const q = s.maximize ? metricPlace(t.metric) : 1 - metricPlace(t.metric);  // 1: the best
      const c = 'hsl(' + Math.round(120 * q) + ', 70%, 45%)';
      return {
        label: 'trial ' + t.id, borderColor: c, backgroundColor: c,
        data: names.map((n, i) => (n in t.hparams ? placers[i].place(t.hparams[n]) : null)).concat([metricPlace(t.metric)]),
        raw: names.map((n) => (n in t.hparams ? t.hparams[n] : '-')).concat([fixed(t.metric, 4)]),
      };
    });
    chart.update('none');
  }

  function renderImportance(d) {
    const imp = d.importance || { params: [], trials: 0, method: '' };
    const chart = state.charts.importance;
    chart.data.labels = imp.params.map((p) => p.name);
    chart.data.datasets[0].data = imp.params.map((p) => p.importance);
    chart.update('none');
    el('importance-note').textContent = (imp.params.length === 0
      ? 'not yet: it needs 4 trials with an objective that varies (' + imp.trials + ' so far). '
      : 'over ' + imp.trials + ' trials. ') + 'Method: ' + imp.method + '.';
  }

  function curveDatasets(curves, trials, key) {
    return trials.map((t) => ({
      label: 'trial ' + t.id,
      borderColor: color(t.id), backgroundColor: color(t.id),
      data: ((curves[String(t.id)] || {})[key] || []).filter((p) => p[1] !== null).map((p) => ({ x: p[0], y: p[1] })),
    })).filter((d) => d.data.length > 0);
  }

  function renderHeader(d) {
    const s = d.status;
    el('sweep').textContent = 'polysweep: ' + s.sweep;
    el('state').textContent = s.state;
    const byState = {};
    s.trials.forEach((t) => { byState[t.state] = (byState[t.state] || 0) + 1; });
    const best = rankTrials(s)[0];
    const parts = [s.trials.length + ' of ' + s.max_trials + ' trials issued: ' +
                   Object.keys(byState).sort().map((k) => byState[k] + ' ' + k).join(', ')];
    parts.push(best ? 'best trial ' + best.id + ': ' + s.metric + ' ' + fixed(best.metric, 4) : 'no best yet');
    // The exported best model on the held-out test split, once the sweep scored it.
    if (d.test && best && d.test.trial === best.id && d.test.entity_f1 !== undefined) {
      parts.push('test split: entity F1 ' + fixed(d.test.entity_f1, 4) + ', word accuracy ' +
                 fixed(d.test.accuracy, 4) + ' (' + d.test.examples + ' words held out)');
    } else if (d.test && best && d.test.trial === best.id && d.test.micro_f1 !== undefined) {
      parts.push('test split: micro-F1 ' + fixed(d.test.micro_f1, 4) + ', macro-F1 ' + fixed(d.test.macro_f1, 4) +
                 ', exact match ' + fixed(d.test.accuracy, 4) + ' (' + d.test.examples + ' held out)');
    } else if (d.test && best && d.test.trial === best.id) {
      parts.push('test split: accuracy ' + fixed(d.test.accuracy, 4) + ', macro-F1 ' + fixed(d.test.macro_f1, 4) +
                 ' (' + d.test.examples + ' held out)');
    }
    if (d.eta_seconds !== null && d.eta_seconds !== undefined) parts.push('eta at most ' + duration(d.eta_seconds));
    // Throughput while trials run; a finished sweep says how long it took
    // (a sum over no running trial would read "0.0 samples/s").
    const running = s.trials.filter((t) => t.state === 'running');
    if (running.length > 0) {
      parts.push(fixed(running.reduce((n, t) => n + t.samples_per_sec, 0), 1) + ' samples/s');
    } else if (s.state === 'finished' && s.finished_at > s.created_at) {
      parts.push('finished in ' + duration(s.finished_at - s.created_at));
    }
    el('summary').textContent = parts.join('  ·  ');
    // Steps done of the steps the sweep may still train (every trial to its end).
    const full = Math.max(0, ...s.trials.map((t) => t.max_steps));
    const done = s.trials.reduce((n, t) => n + t.step, 0);
    const open = ['running', 'pending', 'paused', 'preempted', 'interrupted'];
    const left = s.trials.filter((t) => open.includes(t.state)).reduce((n, t) => n + Math.max(0, t.max_steps - t.step), 0) +
      Math.max(0, s.max_trials - s.trials.length) * full;
    const fraction = s.state === 'finished' ? 1 : (done + left > 0 ? done / (done + left) : 0);
    state.progress = Math.min(1, fraction);
    el('progress-bar').style.width = 100 * state.progress + '%';
    el('source').textContent = (window.POLYSWEEP_DATA ? 'report of ' : 'live from ') + d.source + ' at ' +
      new Date(d.generated_at * 1000).toLocaleString();
    el('metric-name').textContent = '(' + s.metric + ', ' + (s.maximize ? 'max' : 'min') + ')';
  }

  function renderLanguages(s) {
    const trial = s.trials.find((t) => t.id === state.selected);
    el('selected-trial').textContent = trial ? String(trial.id) : '-';
    const langs = trial ? trial.languages.slice() : [];
    const tokenLevel = langs.length > 0 && langs.every((l) => !l.f1) && langs.some((l) => l.accuracy > 0);
    langs.sort((a, b) => (tokenLevel ? b.accuracy - a.accuracy : b.f1 - a.f1));
    const chart = state.charts.language;
    chart.data.labels = langs.map((l) => l.lang);
    chart.data.datasets[0].label = tokenLevel ? 'masked-token accuracy' : 'macro-F1';
    chart.data.datasets[0].data = langs.map((l) => (tokenLevel ? l.accuracy : l.f1));
    chart.update('none');
  }

  function renderHparams(s) {
    const select = el('hparam');
    const names = Array.from(new Set(s.trials.flatMap((t) => Object.keys(t.hparams)))).sort();
    if (select.options.length !== names.length) {
      const keep = select.value;
      select.innerHTML = '';
      names.forEach((n) => select.add(new Option(n, n)));
      if (names.includes(keep)) select.value = keep;
    }
    const name = select.value;
    const points = s.trials.filter((t) => t.has_metric && isFinite(t.metric) && name in t.hparams)
      .map((t) => ({ x: Number(t.hparams[name]), y: t.metric, id: t.id }))
      .filter((p) => isFinite(p.x));
    const chart = state.charts.hparam;
    const xs = points.map((p) => p.x);
    const logScale = xs.length > 1 && Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) > 20;
    chart.options.scales.x.type = logScale ? 'logarithmic' : 'linear';
    chart.options.scales.x.title.text = name + (logScale ? ' (log scale)' : '');
    chart.data.datasets[0].data = points;
    chart.data.datasets[0].backgroundColor = points.map((p) => color(p.id));
    chart.update('none');
  }

  function renderRungs(d) {
    const rungs = d.decisions.filter((x) => x.kind === 'rung' && x.score !== null);
    const promoted = new Set(d.decisions.filter((x) => x.kind === 'promote').map((x) => x.trial + '@' + x.step));
    const chart = state.charts.rung;
    chart.data.datasets[0].data = rungs.filter((r) => promoted.has(r.trial + '@' + r.step)).map((r) => ({ x: r.step, y: r.score }));
    chart.data.datasets[1].data = rungs.filter((r) => !promoted.has(r.trial + '@' + r.step)).map((r) => ({ x: r.step, y: r.score }));
    chart.update('none');
    const trials = new Set(rungs.map((r) => r.trial)).size;
    el('rung-note').textContent = rungs.length === 0 ? 'no rungs: this sweep\'s scheduler pauses no trial' :
      rungs.length + ' rung results of ' + trials + ' trials, ' + chart.data.datasets[0].data.length + ' promoted';
  }

  function renderTable(s) {
    const head = el('trials').tHead, body = el('trials').tBodies[0];
    head.innerHTML = '<tr><th>ID</th><th>STATE</th><th>ATTEMPT</th><th>STEP</th><th>LOSS</th><th>' + s.metric +
      '</th><th>SAMPLES/S</th><th>HYPERPARAMETERS</th></tr>';
    body.innerHTML = '';
    s.trials.forEach((t) => {
      const row = body.insertRow();
      if (t.id === state.selected) row.className = 'selected';
      const cells = [String(t.id), t.state, String(t.attempt), t.step + '/' + t.max_steps,
        t.step > 0 ? fixed(t.loss, 4) : '-', t.has_metric ? fixed(t.metric, 4) : '-',
        t.samples_per_sec > 0 ? fixed(t.samples_per_sec, 1) : '-',
        Object.keys(t.hparams).sort().map((k) => k + '=' + t.hparams[k]).join(' ')];
      cells.forEach((text, i) => {
        const c = row.insertCell();
        c.textContent = text;
        if (i === 1) c.className = 'state-' + t.state;
        else if (i !== 7) c.className = 'num';
      });
      row.addEventListener('click', () => { state.selected = t.id; render(); });
    });
  }

  function render() {
    const d = state.data;
    if (!d) return;
    const s = d.status;
    if (state.selected === null || !s.trials.some((t) => t.id === state.selected)) {
      const best = rankTrials(s)[0];
      state.selected = best ? best.id : (s.trials.length ? s.trials[0].id : null);
    }
    renderHeader(d);
    state.charts.loss.data.datasets = curveDatasets(d.curves, s.trials, 'loss');
    state.charts.loss.update('none');
    state.charts.objective.data.datasets = curveDatasets(d.curves, s.trials, 'objective');
    state.charts.objective.update('none');
    renderLanguages(s);
    renderHparams(s);
    renderParallel(s);
    renderImportance(d);
    renderRungs(d);
    renderTable(s);
    state.updates += 1;
    // For tests and scripts that read the page's DOM (e.g. chromium --dump-dom);
    // `drawn` is the share of its track the progress bar covers on screen now.
    const bar = el('progress-bar');
    const track = bar.parentElement.getBoundingClientRect().width;
    el('dashboard-state').textContent = JSON.stringify({
      drawn: track > 0 ? bar.getBoundingClientRect().width / track : 0,
      updates: state.updates, lossPoints: window.polysweepDashboard.lossPoints(), trials: s.trials.length,
      errors: state.errors, state: s.state, progress: state.progress, summary: el('summary').textContent,
      parallelLines: state.charts.parallel.data.datasets.length,
      parallelAxes: state.charts.parallel.data.labels.map((l) => l[0]),
      importance: (d.importance || { params: [] }).params.map((p) => p.name),
      importanceNote: el('importance-note').textContent,
    });
  }

  const token = new URLSearchParams(window.location.search).get('token');

  async function poll() {
    try {
      const response = await fetch('api/data', {
        headers: token ? { Authorization: 'Bearer ' + token } : {}, credentials: 'same-origin', cache: 'no-store',
      });
      if (response.ok) {
        state.data = await response.json();
        render();
      } else {
        el('source').textContent = 'the coordinator answered ' + response.status + ': ' + (await response.text());
      }
    } catch (e) {
      el('source').textContent = 'no answer from the coordinator (' + e + '); retrying';
    }
    setTimeout(poll, 2000);
  }

  makeCharts();
  if (window.POLYSWEEP_DATA) {
    state.data = window.POLYSWEEP_DATA;
    render();
  } else {
    poll();
  }
})();
