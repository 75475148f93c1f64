// Draws the figures page's charts with Apache ECharts (vendored: echarts.min.js).
// The data comes from the page's <script type="application/json" id="report-data">:
// the Content-Security-Policy allows scripts from this origin only, none inline.
(function () {
  "use strict";

  function pct(v) { return v === null || v === undefined ? null : Math.round(v * 1000) / 10; }

  function rank(el, data) {
    var rate = el.dataset.rate;
    var rows = data.groups.filter(function (g) { return g[rate] !== null; });
    rows.sort(function (a, b) { return a[rate] - b[rate]; }); // best on top (bars draw upward)
    return {
      title: { text: data.rates[rate], left: "center", textStyle: { fontSize: 14 } },
      grid: { left: 8, right: 40, top: 30, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: function (v) { return v + "%"; } },
      xAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      yAxis: { type: "category", data: rows.map(function (g) { return g.label; }),
               axisLabel: { width: 150, overflow: "truncate" } },
      series: [{ type: "bar", data: rows.map(function (g) { return pct(g[rate]); }),
                 label: { show: true, position: "right", formatter: "{c}%" } }],
    };
  }

  function trend(el, data) {
    var names = Object.keys(data.rates);
    return {
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null ? "—" : v + "%"; } },
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.trend.map(function (t) { return t.week; }) },
      yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
      series: names.map(function (r) {
        // Bars, not a line: ECharts draws no line for a week between empty ones, and a
        // week with nothing due must show as a gap, not as 0 %.
        return { name: data.rates[r], type: "bar",
                 data: data.trend.map(function (t) { return pct(t[r]); }) };
      }),
    };
  }

  function rungs(el, data) {
    var rows = data.rungs.filter(function (g) { return g.rung_1 > 0; });
    var names = { rung_1: "一级（科室负责人）", rung_2: "二级（督办）", rung_3: "三级（挂牌督办）" };
    return {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: rows.map(function (g) { return g.label; }),
               axisLabel: { interval: 0, rotate: rows.length > 4 ? 30 : 0, width: 120, overflow: "truncate" } },
      yAxis: { type: "value", minInterval: 1 },
      series: Object.keys(names).map(function (k) {
        return { name: names[k], type: "bar", data: rows.map(function (g) { return g[k]; }) };
      }),
      graphic: rows.length ? [] : [{ type: "text", left: "center", top: "middle",
                                     style: { text: "期间内没有超时升级", fill: "#666" } }],
    };
  }

  var draw = { rank: rank, trend: trend, rungs: rungs };

  function start() {
    var source = document.getElementById("report-data");
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var option = draw[el.dataset.chart](el, data);
      if (el.dataset.chart === "rank") {
        // A bar per group: the box grows with the number of groups.
        el.style.height = Math.max(288, 60 + option.yAxis.data.length * 24) + "px";
      }
      var chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      charts.push(chart);
    });
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
