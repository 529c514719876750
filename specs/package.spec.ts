/**
 * package.json checked for what an app that installs rxchan gets (scripts/first-project.mjs, run by
 * .ci/run, is the real proof: it installs the packed tarball into a new app):
 *
 * - the libraries whose objects cross between the app and rxchan (rxjs Observables, tsyringe's
 *   registry, reflect-metadata, the OpenTelemetry API's globals) are peer dependencies, never also
 *   dependencies, so the app and rxchan share one copy; each is a dev dependency with its peer range
 *   (or one of its alternatives), so our own build and specs run on what we declare;
 * - the drivers only some apps need (`pg`, for the PostgreSQL cluster store) are optional peer
 *   dependencies (`peerDependenciesMeta`), loaded by a dynamic import only when used, and dev
 *   dependencies with the same range, so our specs run against the version we declare;
 * - every package that src imports is a dependency or a peer dependency;
 * - the package ships dist/src, the browser bundle (dist/browser), docs and the README; its bin and main
 *   export point into dist/src;
 * - `prepare` builds src alone;
 * - the README's first project lists each peer dependency with the range we build with.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// dist/specs/package.spec.js -> the repository root is two levels up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  files: string[];
  bin: Record<string, string>;
  main: string;
  types: string;
  exports: Record<string, Record<string, string>>;
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies: Record<string, string>;
};

const SHARED = ['@opentelemetry/api', 'reflect-metadata', 'rxjs', 'tsyringe'];
/** Optional peers: drivers an app installs only for the feature that needs them. */
const OPTIONAL = ['pg'];

/** The package a bare import specifier names (`@scope/name/sub` -> `@scope/name`). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('package.json', () => {
  it('makes the libraries shared with the app peer dependencies, not dependencies', () => {
    assert.deepEqual(Object.keys(pkg.peerDependencies).sort(), [...SHARED, ...OPTIONAL].sort());
    for (const name of [...SHARED, ...OPTIONAL]) {
      assert.equal(pkg.dependencies[name], undefined, `${name} is both a dependency and a peer dependency`);
      // The dev range is the peer range or one of its `||` alternatives (the one we build with).
      const alternatives = pkg.peerDependencies[name]!.split('||').map((r) => r.trim());
      assert.ok(
        alternatives.includes(pkg.devDependencies[name]!),
        `${name}: the dev range is not a peer range`,
      );
    }
  });

  it('makes the drivers optional peers, loaded only by a dynamic import, and dev dependencies', () => {
    assert.deepEqual(Object.keys(pkg.peerDependenciesMeta ?? {}).sort(), OPTIONAL);
    for (const name of OPTIONAL) {
      assert.equal(pkg.peerDependenciesMeta?.[name]?.optional, true, `${name} is not an optional peer`);
      assert.equal(pkg.devDependencies[name], pkg.peerDependencies[name], `${name}: dev range != peer range`);
    }
    for (const name of SHARED) assert.equal(pkg.peerDependenciesMeta?.[name], undefined, name);
    // A static import would load the driver with rxchan itself: only `import type` and `import('pg')`.
    const staticImport = /^import\s+(?!type\b)[^;]*?\bfrom\s+'([^']+)'|^import\s+'([^']+)'/gm;
    let dynamic = 0;
    for (const file of sources(join(root, 'src'))) {
      const text = readFileSync(file, 'utf8');
      for (const [, from, bare] of text.matchAll(staticImport)) {
        assert.ok(
          !OPTIONAL.includes(packageOf((from ?? bare)!)),
          `${file} imports ${from ?? bare} statically`,
        );
      }
      for (const name of OPTIONAL) if (text.includes(`await import('${name}')`)) dynamic++;
    }
    assert.ok(dynamic > 0, 'no dynamic import of an optional peer found in src: the pattern is wrong');
  });

  it('declares every package that src imports', () => {
    const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]);
    const builtins = new Set(builtinModules);
    const imports = /^(?:import|export)\b[^;'"]*?\bfrom\s+'([^']+)'|^import\s+'([^']+)'/gm;
    let checked = 0;
    for (const file of sources(join(root, 'src'))) {
      for (const [, from, bare] of readFileSync(file, 'utf8').matchAll(imports)) {
        const specifier = from ?? bare;
        if (specifier!.startsWith('.') || specifier!.startsWith('node:') || builtins.has(specifier!))
          continue;
        if (specifier!.startsWith('#platform/')) {
          // package.json `imports`: src/platform/{node,browser}/<name>, both of which must exist.
          const name = specifier!.slice('#platform/'.length).replace(/\.js$/, '.ts');
          for (const side of ['node', 'browser']) {
            assert.ok(
              existsSync(join(root, 'src/platform', side, name)),
              `${file}: ${specifier} has no ${side} file`,
            );
          }
          continue;
        }
        checked++;
        assert.ok(
          declared.has(packageOf(specifier!)),
          `${file} imports ${specifier}, which package.json does not declare`,
        );
      }
    }
    assert.ok(checked > 0, 'no package import found in src: the pattern is wrong');
  });

  it('ships dist/src without source maps, docs and the README; its entry points are in dist/src', () => {
    assert.deepEqual(pkg.files, ['dist/src', 'dist/browser', '!dist/src/**/*.map', 'docs', 'README.md']);
    const entries = [pkg.main, pkg.types, ...Object.values(pkg.bin), ...Object.values(pkg.exports['.']!)];
    for (const entry of entries) assert.match(entry, /^\.\/dist\/src\/[^/]+\.(d\.ts|js)$/, entry);
    // rxchan/browser: the bundles scripts/build-browser.mjs makes on prepare, typed by dist/src/browser.d.ts:
    // for bundlers, the one that leaves the peers to the app (one copy of each); for a page without a
    // bundler, the standalone one.
    assert.deepEqual(pkg.exports['./browser'], {
      types: './dist/src/browser.d.ts',
      default: './dist/browser/rxchan.peers.js',
    });
    assert.deepEqual(pkg.exports['./browser/standalone'], {
      types: './dist/src/browser.d.ts',
      default: './dist/browser/rxchan.js',
    });
  });

  it('builds src alone on prepare', () => {
    assert.equal(pkg.scripts.prepare, 'npm run build:src && node scripts/build-browser.mjs');
    assert.match(pkg.scripts['build:src']!, /tsc -p tsconfig\.build\.json$/);
    const config = readFileSync(join(root, 'tsconfig.build.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '');
    assert.deepEqual(JSON.parse(config).include, ['src']);
  });

  it("lists each peer dependency, with the range we build with, in the README's first project", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /<!-- file: package\.json -->\n```json\n([\s\S]*?)```\n/.exec(readme);
    assert.ok(block, 'README.md has no "file: package.json" block');
    const app = JSON.parse(block[1]!) as { type: string; dependencies: Record<string, string> };
    assert.equal(app.type, 'module');
    for (const name of SHARED) assert.equal(app.dependencies[name], pkg.devDependencies[name], name);
  });
});
