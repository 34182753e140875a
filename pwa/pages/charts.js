// The dashboards' charts, drawn from the tables beside them (which hold every number and link,
// and stay as the text version). Bundled with Apache ECharts into the pages' static folder: no
// CDN, no inline script, tooltips drawn on the canvas (CSP allows no inline styles).
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

const COLORS = ['#1e7d34', '#b3261e', '#0b5cad', '#a05a00'];

/** Read the figure's table: one category per row, one series per value column. */
function readTable(figure) {
  const rows = [...figure.querySelectorAll('table.chart-data tbody tr')];
  const labels = rows.map((tr) => tr.dataset.label);
  const width = Math.max(0, ...rows.map((tr) => tr.querySelectorAll('td[data-value]').length));
  const columns = Array.from({ length: width }, (_, i) => rows.map((tr) => {
    const cell = tr.querySelectorAll('td[data-value]')[i];
    // Rows of a second group (deadlines beside states) get their own colour.
    const style = tr.dataset.group ? { itemStyle: { color: '#a05a00' } } : {};
    return { value: Number(cell.dataset.value), href: cell.dataset.href, ...style };
  }));
  return { labels, columns };
}

function seriesNames(figure, count) {
  if (count === 2) return [figure.dataset.seriesVisited, figure.dataset.seriesOpen];
  return [figure.dataset.series];
}

function draw(figure) {
  const { labels, columns } = readTable(figure);
  const target = figure.querySelector('.chart-canvas');
  if (!labels.length || !target) return;
  target.style.height = `${Math.max(160, labels.length * 34 + 70)}px`;
  const chart = echarts.init(target, null, { renderer: 'canvas' });
  const names = seriesNames(figure, columns.length);
  chart.setOption({
    color: columns.length === 2 ? COLORS : [COLORS[2]],
    tooltip: { trigger: 'item', renderMode: 'richText' },
    legend: columns.length > 1 ? { top: 0 } : undefined,
    grid: { left: 8, right: 24, top: columns.length > 1 ? 30 : 8, bottom: 8, containLabel: true },
    xAxis: { type: 'value', minInterval: 1 },
    yAxis: { type: 'category', data: labels, inverse: true, axisLabel: { width: 120, overflow: 'truncate' } },
    series: columns.map((data, i) => ({
      name: names[i], type: 'bar', stack: columns.length > 1 ? 'all' : undefined, data,
      label: { show: true, position: columns.length > 1 ? 'inside' : 'right', formatter: (p) => (p.value ? p.value : '') },
      cursor: 'pointer',
    })),
  });
  // Every bar opens the list behind its number.
  chart.on('click', (params) => {
    if (params.data && params.data.href) window.location.assign(params.data.href);
  });
  figure.classList.add('chart-drawn');
  window.addEventListener('resize', () => chart.resize());
}

function start() {
  document.querySelectorAll('figure.chart[data-chart]').forEach(draw);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
