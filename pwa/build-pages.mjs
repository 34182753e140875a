// Build the review and filing pages' scripts (the dashboards' charts with Apache ECharts) into
// the server's static folder, so the pages load them from the same origin (CSP: script-src 'self').
import { build } from 'esbuild';

await build({
  entryPoints: ['pages/charts.js'],
  bundle: true,
  minify: true,
  format: 'iife',
  outfile: '../server/web/static/build/charts.js',
  target: ['chrome100', 'firefox100', 'safari15'],
  legalComments: 'linked',
});
