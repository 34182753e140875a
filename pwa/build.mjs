// Build the field app into dist/: bundle the modules, copy the static shell, draw the icons,
// then build the service worker with the list of shell files and a version = hash of them all.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { writeIcon } from './icons.mjs';

// SPOTCHECK_DIST picks another output folder; SPOTCHECK_TEST_HOOKS=1 builds the test-only
// switches in (IndexedDB writes that fail on purpose). The production bundle never has them.
const DIST = process.env.SPOTCHECK_DIST || 'dist';
const TEST_HOOKS = process.env.SPOTCHECK_TEST_HOOKS === '1';
// Days the phone keeps acknowledged evidence and its media (to re-send after a server restore).
const KEEP_DAYS = Number.parseInt(process.env.PHONE_KEEP_DAYS || '30', 10) || 30;
rmSync(DIST, { recursive: true, force: true });
mkdirSync(DIST, { recursive: true });

await build({
  // The QR decoder worker is its own entry: dist/capture/qr-worker.js, cached with the shell.
  entryPoints: ['src/main.js', 'src/capture/qr-worker.js'],
  bundle: true,
  minify: true,
  format: 'esm',
  splitting: true, // lazily imported decoders become their own chunks, outside the shell size
  chunkNames: 'chunks/[name]-[hash]',
  outdir: DIST,
  target: ['chrome100'],
  legalComments: 'none',
  define: { __TEST_HOOKS__: TEST_HOOKS ? 'true' : 'false', __PHONE_KEEP_DAYS__: String(KEEP_DAYS) },
});
cpSync('public', DIST, { recursive: true });
mkdirSync(join(DIST, 'icons'), { recursive: true });
for (const size of [192, 512]) {
  writeIcon(join(DIST, 'icons', `icon-${size}.png`), size, false);
  writeIcon(join(DIST, 'icons', `maskable-${size}.png`), size, true);
}

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const files = walk(DIST).map((p) => relative(DIST, p).split('\\').join('/')).sort();
const hash = createHash('sha256');
for (const file of files) {
  hash.update(file);
  hash.update(readFileSync(join(DIST, file)));
}
const version = hash.digest('hex').slice(0, 16);
// './' is the shell itself (navigations); every other file is cached by its own URL.
const precache = ['./', ...files.filter((f) => !f.endsWith('.map'))];
await build({
  entryPoints: ['src/sw.js'],
  bundle: true,
  minify: true,
  format: 'iife',
  outfile: join(DIST, 'sw.js'),
  target: ['chrome100'],
  define: {
    __SHELL_VERSION__: JSON.stringify(version),
    __SHELL_FILES__: JSON.stringify(precache),
  },
});
writeFileSync(join(DIST, 'version.json'), JSON.stringify({ version }) + '\n');
console.log(`built shell ${version}: ${precache.length} files`);
