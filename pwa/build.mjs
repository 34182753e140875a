// Build the field app into dist/: bundle the modules, copy the static shell.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist', { recursive: true });
await build({
  entryPoints: ['src/main.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  outdir: 'dist',
  target: ['chrome100'],
});
cpSync('public', 'dist', { recursive: true });
