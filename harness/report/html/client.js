// The HTML report's only script of its own (harness/report/html/charts.ts builds the chart
// configurations; this turns them into Chart.js charts). It reads the data with JSON.parse from
// <script type="application/json" id="hil-data">, never as code, and writes no HTML: labels and
// titles reach the page only through Chart.js's canvas text. One chart that fails is reported on
// the console and leaves the others standing.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('hil-data').textContent);
  var Chart = window.Chart;
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.font.size = 12;

  function num(v) { return typeof v === 'number' && isFinite(v); }
  var formatters = {
    us: function (v) { return !num(v) ? '' : Math.abs(v) >= 1000 ? (v / 1000).toFixed(Math.abs(v) >= 100000 ? 1 : 3) + ' ms' : v.toFixed(1) + ' us'; },
    pct: function (v) { return num(v) ? (v > 0 ? '+' : '') + v.toFixed(2) + '%' : ''; },
    'fraction-pct': function (v) { return num(v) ? v.toFixed(1) + '%' : ''; },
    kb: function (v) { return num(v) ? v.toFixed(1) + ' KB' : ''; },
    count: function (v) { return num(v) ? String(v) : ''; },
  };

  // Tick labels: the same units, trailing zeros dropped ("4 ms", "2.5 ms").
  var tickFormatters = {
    us: function (v) { return !num(v) ? '' : Math.abs(v) >= 1000 ? Number((v / 1000).toPrecision(4)) + ' ms' : Number(v.toPrecision(4)) + ' us'; },
    pct: function (v) { return num(v) ? (v > 0 ? '+' : '') + Number(v.toPrecision(4)) + '%' : ''; },
    'fraction-pct': function (v) { return num(v) ? Number(v.toPrecision(4)) + '%' : ''; },
    kb: function (v) { return !num(v) ? '' : Math.abs(v) >= 10240 ? Number((v / 1024).toPrecision(4)) + ' MB' : Number(v.toPrecision(4)) + ' KB'; },
    count: function (v) { return num(v) ? String(v) : ''; },
  };
  function tickFormatter(unit) {
    var f = tickFormatters[unit] || tickFormatters.count;
    return function (value) { return f(Number(value)); };
  }

  function tooltipLabel(f, valueAxis) {
    return function (ctx) {
      var raw = ctx.raw;
      var text;
      if (Array.isArray(raw)) text = f(raw[0]) + ' to ' + f(raw[1]);
      else if (raw && typeof raw === 'object') text = f(raw[valueAxis]);
      else text = f(raw);
      return (ctx.dataset.label ? ctx.dataset.label + ': ' : '') + text;
    };
  }

  var drawn = 0;
  var failed = [];
  data.charts.forEach(function (spec) {
    var canvas = document.getElementById('chart-' + spec.id);
    if (!canvas) { failed.push(spec.id); console.error('hil report: no canvas for chart ' + spec.id); return; }
    var f = formatters[spec.unit] || formatters.count;
    var config = spec.config;
    var options = config.options || (config.options = {});
    var scales = options.scales || (options.scales = {});
    var axis = scales[spec.valueAxis] || (scales[spec.valueAxis] = {});
    axis.ticks = axis.ticks || {};
    axis.ticks.callback = tickFormatter(spec.unit);
    options.plugins = options.plugins || {};
    options.plugins.tooltip = { callbacks: { label: tooltipLabel(f, spec.valueAxis) } };
    try {
      new Chart(canvas, config);
      drawn++;
    } catch (e) {
      failed.push(spec.id);
      console.error('hil report: chart ' + spec.id + ' failed: ' + (e && e.message ? e.message : e));
    }
  });
  window.hilReport = { charts: data.charts.length, drawn: drawn, failed: failed };
  document.documentElement.setAttribute('data-charts', failed.length === 0 ? 'drawn' : 'failed');
})();
