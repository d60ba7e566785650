// Draws every <canvas data-chart="ID"> from the JSON in <script id="ID" type="application/json">
// with the vendored Chart.js. The same figures are in the table next to each chart.
(function () {
  "use strict";
  function money(currency) {
    return function (value) {
      return Number(value).toLocaleString(undefined, { minimumFractionDigits: 0, maximumFractionDigits: 2 }) + " " + currency;
    };
  }
  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var format = money(spec.currency);
    new Chart(canvas, {
      type: spec.type,
      data: spec.data,
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: spec.stacked },
          y: { stacked: spec.stacked, beginAtZero: true, ticks: { callback: format } }
        },
        plugins: {
          tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + format(ctx.parsed.y); } } }
        }
      }
    });
    canvas.dataset.drawn = "true";
  }
  document.querySelectorAll("canvas[data-chart]").forEach(draw);
})();
