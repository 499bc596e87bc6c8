// Light behaviour of the classroom pages: the live count of ready servers, the charts, and
// sorting and filtering long tables. No library but the vendored ECharts; nothing is fetched
// from outside the hub.
"use strict";

function showNoData(element) {
  // An empty chart says so in words instead of drawing empty axes.
  const existing = echarts.getInstanceByDom(element);
  if (existing) {
    existing.dispose();
  }
  const note = document.createElement("p");
  note.className = "empty";
  note.textContent = element.dataset.empty || document.body.dataset.noData;
  element.replaceChildren(note);
  element.classList.add("chart-empty");
}

function groupOption(element, series) {
  // Bars per row (school, stage, urban/rural), several figures each, the benchmark as a line.
  const names = JSON.parse(element.dataset.names);
  const percent = element.dataset.unit === "%";
  // The axis reaches the benchmark, so the line is drawn even when every bar is far below it.
  const benchmark = element.dataset.benchmark === undefined ? null : Number(element.dataset.benchmark);
  return {
    tooltip: {trigger: "axis", valueFormatter: (v) => (percent ? `${v}%` : v)},
    legend: {}, grid: {containLabel: true},
    xAxis: {type: "category", data: series.map((row) => row[0]), axisLabel: {interval: 0, rotate: series.length > 6 ? 30 : 0}},
    yAxis: {type: "value", axisLabel: {formatter: percent ? "{value}%" : "{value}"},
            max: benchmark === null ? undefined : (extent) => Math.max(extent.max, benchmark)},
    series: names.map((name, index) => ({
      name, type: "bar", data: series.map((row) => row[index + 1]),
      markLine: index || benchmark === null ? undefined : {
        symbol: "none", label: {formatter: element.dataset.benchmarkLabel},
        data: [{yAxis: benchmark}]},
    })),
  };
}

function drawChart(element, chosen) {
  if (typeof echarts === "undefined") {
    return;
  }
  // A chart per assignment carries every assignment's series; the selector picks one.
  const series = element.dataset.byAssignment
    ? JSON.parse(element.dataset.byAssignment)[chosen] || []
    : JSON.parse(element.dataset.series);
  if (!series.length) {
    showNoData(element);
    return;
  }
  if (element.classList.contains("chart-empty")) {
    element.replaceChildren();
    element.classList.remove("chart-empty");
  }
  const chart = echarts.getInstanceByDom(element) || echarts.init(element);
  const kind = element.dataset.chart;
  const label = element.dataset.label;
  let option;
  if (kind === "groups") {
    option = groupOption(element, series);
  } else if (kind === "weeks") {
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

function cellValue(row, column) {
  // A cell sorts by its data-sort value when it has one (a score, a time), else by its text.
  const cell = row.cells[column];
  const text = cell ? (cell.dataset.sort ?? cell.textContent.trim()) : "";
  const number = Number(text.replace(/%$/, ""));
  return text !== "" && Number.isFinite(number) ? number : text;
}

function sortTable(table, column, header) {
  const ascending = header.getAttribute("aria-sort") !== "ascending";
  table.querySelectorAll("thead th").forEach((th) => th.removeAttribute("aria-sort"));
  header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const body = table.tBodies[0];
  // A totals row stays last.
  const rows = Array.from(body.rows).filter((row) => !row.classList.contains("total"));
  const totals = Array.from(body.rows).filter((row) => row.classList.contains("total"));
  rows.sort((a, b) => {
    const x = cellValue(a, column);
    const y = cellValue(b, column);
    const order = typeof x === "number" && typeof y === "number"
      ? x - y : String(x).localeCompare(String(y), document.documentElement.lang);
    return ascending ? order : -order;
  });
  body.append(...rows, ...totals);
}

function makeSortable(table) {
  // Header buttons, so that sorting works from the keyboard and reads as a button.
  table.querySelectorAll("thead th").forEach((header, column) => {
    if (!header.textContent.trim() || header.querySelector("a, button")) {
      return;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.title = document.body.dataset.sortLabel;
    button.append(...header.childNodes);
    header.append(button);
    button.addEventListener("click", () => sortTable(table, column, header));
  });
}

function makeFilterable(table) {
  // A labelled search box above the table; rows whose text does not contain it are hidden.
  const label = document.createElement("label");
  label.className = "table-filter";
  label.textContent = `${table.dataset.filter} `;
  const input = document.createElement("input");
  input.type = "search";
  input.setAttribute("aria-controls", table.id);
  label.append(input);
  table.before(label);
  input.addEventListener("input", () => {
    const wanted = input.value.trim().toLowerCase();
    Array.from(table.tBodies[0].rows).forEach((row) => {
      row.hidden = wanted !== "" && !row.classList.contains("total")
        && !row.textContent.toLowerCase().includes(wanted);
    });
  });
}

function markEmptyTable(table) {
  // A table with headings and no row says so below its headings (its rows stay untouched).
  const note = document.createElement("p");
  note.className = "empty empty-table";
  note.textContent = document.body.dataset.noData;
  table.after(note);
}

document.querySelectorAll("table.grid").forEach((table) => {
  if (table.tBodies.length && !Array.from(table.tBodies).some((body) => body.rows.length)) {
    markEmptyTable(table);
  }
});
document.querySelectorAll("table[data-sortable]").forEach(makeSortable);
document.querySelectorAll("table[data-filter]").forEach(makeFilterable);

const assignmentChoice = document.getElementById("chart-assignment");

function drawCharts() {
  const chosen = assignmentChoice ? assignmentChoice.value : null;
  document.querySelectorAll(".chart-assignment").forEach((label) => {
    label.textContent = chosen;
  });
  document.querySelectorAll(".chart").forEach((element) => drawChart(element, chosen));
}

drawCharts();
window.addEventListener("resize", () => {
  document.querySelectorAll(".chart").forEach((element) => {
    const chart = typeof echarts === "undefined" ? null : echarts.getInstanceByDom(element);
    if (chart) {
      chart.resize();
    }
  });
});
if (assignmentChoice) {
  assignmentChoice.addEventListener("change", drawCharts);
}
const prepare = document.getElementById("prepare");
if (prepare) {
  watchServers(prepare);
}
