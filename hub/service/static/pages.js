// Light behaviour of the classroom pages: the live count of ready servers and the charts.
"use strict";

function drawChart(element, chosen) {
  if (typeof echarts === "undefined") {
    return;
  }
  // A chart per assignment carries every assignment's series; the selector picks one.
  const series = element.dataset.byAssignment
    ? JSON.parse(element.dataset.byAssignment)[chosen] || []
    : JSON.parse(element.dataset.series);
  const chart = echarts.getInstanceByDom(element) || echarts.init(element);
  const kind = element.dataset.chart;
  const label = element.dataset.label;
  let option;
  if (kind === "weeks") {
    option = {
      tooltip: {trigger: "axis"}, legend: {},
      xAxis: {type: "category", data: series.map((w) => w.week)},
      yAxis: {type: "value"},
      series: [
        {name: label, type: "line", data: series.map((w) => w.hours)},
        {name: element.dataset.urban, type: "line", data: series.map((w) => w.urban)},
        {name: element.dataset.rural, type: "line", data: series.map((w) => w.rural)},
      ],
    };
  } else {
    option = {
      tooltip: {}, xAxis: {type: "category", data: series.map((p) => p[0])},
      yAxis: {type: "value"},
      series: [{name: label, type: kind === "timeline" ? "line" : "bar", symbolSize: 8,
                data: series.map((p) => p[1]),
                // A programme chart draws its benchmark as a line across the bars.
                markLine: element.dataset.benchmark === undefined ? undefined : {
                  symbol: "none", label: {formatter: element.dataset.benchmarkLabel},
                  data: [{yAxis: Number(element.dataset.benchmark)}]}}],
    };
  }
  option.animation = false;  // printed reports and screenshots show the final chart
  if (!series.length && element.dataset.empty) {
    option.title = {text: element.dataset.empty, left: "center", top: "middle"};
  }
  chart.setOption(option, true);
}

async function watchServers(section) {
  const counter = document.getElementById("ready-count");
  for (;;) {
    try {
      // JupyterHub accepts the sign-in cookie on script requests only with the XSRF token.
      const response = await fetch(section.dataset.statusUrl, {
        credentials: "same-origin", headers: {"X-XSRFToken": section.dataset.xsrf},
      });
      if (response.ok) {
        const body = await response.json();
        counter.textContent = body.ready;
      }
    } catch (error) {
      // the next round tries again
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

const assignmentChoice = document.getElementById("chart-assignment");

function drawCharts() {
  const chosen = assignmentChoice ? assignmentChoice.value : null;
  document.querySelectorAll(".chart-assignment").forEach((label) => {
    label.textContent = chosen;
  });
  document.querySelectorAll(".chart").forEach((element) => drawChart(element, chosen));
}

drawCharts();
if (assignmentChoice) {
  assignmentChoice.addEventListener("change", drawCharts);
}
const prepare = document.getElementById("prepare");
if (prepare) {
  watchServers(prepare);
}
