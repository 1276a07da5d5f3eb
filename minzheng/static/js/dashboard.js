// The monitoring dashboard's charts (ECharts), from the data the page embeds as JSON (no inline script: CSP).
(function () {
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var colours = ["#0d6efd", "#198754", "#dc3545", "#fd7e14", "#6f42c1", "#20c997"];
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el || typeof echarts === "undefined") { return; }
    var c = echarts.init(el);
    c.setOption(Object.assign({ color: colours, tooltip: { trigger: "axis" }, grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true } }, option));
    window.addEventListener("resize", function () { c.resize(); });
  }
  // Region names along the x axis: all shown, slanted past six; past fifteen a slider pages through them (a
  // township has up to seventy villages), so the names never pile up.
  var PAGE = 15;
  function regionAxis(names, option) {
    option.xAxis = { type: "category", data: names, axisLabel: { interval: 0, rotate: names.length > 6 ? 40 : 0 } };
    if (names.length > PAGE) {
      option.dataZoom = [
        { type: "slider", startValue: 0, endValue: PAGE - 1, height: 14, bottom: 4, labelFormatter: "" },
        { type: "inside", startValue: 0, endValue: PAGE - 1 }
      ];
      option.grid = { left: 8, right: 16, top: 36, bottom: 28, containLabel: true };
    }
    return option;
  }
  chart("chart-rules", {
    legend: { top: 0, type: "scroll" },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", data: data.rules, inverse: true },
    series: data.outcomes.map(function (name, i) { return { name: name, type: "bar", stack: "rules", barMaxWidth: 28, data: data.by_rule[i] }; })
  });
  chart("chart-population", {
    tooltip: { trigger: "item" },
    legend: { top: 0, type: "scroll" },
    series: [{ type: "pie", radius: ["35%", "65%"], top: 24, data: data.population, label: { formatter: "{b}：{c}" } }]
  });
  chart("chart-children", regionAxis(data.children, {
    legend: { top: 0 },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: "在办（未超期）", type: "bar", stack: "tasks", barMaxWidth: 32, data: data.open, color: "#0d6efd" },
      { name: "超期", type: "bar", stack: "tasks", data: data.overdue, color: "#dc3545" },
      { name: "已办结", type: "bar", barMaxWidth: 32, data: data.closed, color: "#198754" }
    ]
  }));
  chart("chart-timing", regionAxis(data.timing_names, {
    legend: { top: 0 },
    yAxis: { type: "value", name: "天" },
    series: [
      { name: "中位数", type: "bar", barMaxWidth: 32, data: data.median },
      { name: "平均", type: "bar", barMaxWidth: 32, data: data.mean }
    ]
  }));
})();
