// 政策模拟: the per-capita income histograms (ECharts) from the JSON the page embeds (no inline script: CSP).
(function () {
  var holder = document.getElementById("histogram-data");
  if (!holder || typeof echarts === "undefined") { return; }
  var data = JSON.parse(holder.textContent);
  Object.keys(data).forEach(function (area) {
    var el = document.getElementById("histogram-" + area);
    if (!el) { return; }
    var h = data[area];
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
      xAxis: { type: "category", name: "元", data: h.bins.map(function (b) { return b.label; }), axisLabel: { rotate: 40 } },
      yAxis: { type: "value", name: "户", minInterval: 1 },
      series: [{
        type: "bar",
        barCategoryGap: "5%",
        data: h.bins.map(function (b) {
          var colour = b["new"] ? "#0d6efd" : (b.old ? "#6c757d" : "#9ec5fe");
          return { value: b.households, itemStyle: { color: colour } };
        })
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
