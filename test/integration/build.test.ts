import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { testMongoUri, uniqueDbName } from '../support/mongo.ts';
import { spawnHerald } from '../support/process.ts';

const run = promisify(execFile);

/**
 * The production image runs the compiled build, not the TypeScript sources: prove that build
 * starts and is healthy, and that the Dockerfile keeps the shape the issue asks for (no Docker
 * engine runs here, so the image itself is built in the deployment pipeline).
 */
describe('production build', () => {
  let outDir: string | undefined;
  afterAll(async () => {
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  it('compiles to JavaScript that starts, answers /healthz and stops on SIGTERM', async () => {
    // Inside the repository, so the compiled files resolve node_modules as they do in the image.
    await mkdir('.cache', { recursive: true });
    outDir = await mkdtemp(path.join('.cache', 'build-'));
    await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', outDir], { timeout: 120_000 });
    const p = spawnHerald({ MONGODB_URI: testMongoUri(), MONGODB_DB: uniqueDbName('build'), HTTP_PORT: '0', NODE_ENV: 'production' }, [path.resolve(outDir, 'src/main.js')]);
    try {
      const started = await p.waitForLine((l) => l.msg === 'herald started');
      const health = await fetch(`${String(started.url)}/healthz`);
      expect(health.status).toBe(200);
      p.child.kill('SIGTERM');
      expect((await p.exited).code).toBe(0);
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL');
    }
  }, 150_000);

  it('Dockerfile: multi-stage on node:24-slim, production dependencies only, non-root, health-checked', async () => {
    const dockerfile = await readFile('Dockerfile', 'utf8');
    const stages = [...dockerfile.matchAll(/^FROM (\S+) AS (\w+)/gm)].map((m) => [m[1], m[2]]);
    expect(stages).toEqual([
      ['node:24-slim', 'build'],
      ['node:24-slim', 'runtime'],
    ]);
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/npm ci --omit=dev/);
    expect(runtime).toMatch(/COPY --from=build \/app\/dist/);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK [\s\S]*\/healthz/m);
    expect(runtime).toMatch(/CMD \["node", "dist\/src\/main.js"\]/);
    const compose = await readFile('docker-compose.yml', 'utf8');
    expect(compose).toMatch(/image: mongo:8/);
    expect(compose).toMatch(/--replSet/);
    expect(compose).toMatch(/replicaSet=rs0/);
    expect(compose).toMatch(/^volumes:\n {2}mongo-data:/m);
  });
});
