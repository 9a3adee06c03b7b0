import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { MongoClient } from 'mongodb';

/**
 * A MongoDB-compatible server that Herald (or the tests) start themselves when no MONGODB_URI is
 * given: a local mongod if one is installed, else FerretDB (SQLite files), else mongodb-memory-server.
 */
export type EmbeddedKind = 'mongod' | 'ferretdb' | 'mongodb-memory-server';

export interface EmbeddedMongo {
  readonly kind: EmbeddedKind;
  readonly uri: string;
  readonly port: number;
  readonly dataDir: string;
  /** Stops the server; safe to call twice. */
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Data lives in a sub-folder per kind, so switching kinds never mixes files. */
  dataDir: string;
  /** Fixed port (to restart a server where its clients expect it); a free one when absent. */
  port?: number;
  /** Restrict the choice, e.g. to test one kind. */
  only?: EmbeddedKind;
  startTimeoutMs?: number;
}

export class EmbeddedMongoUnavailable extends Error {
  constructor(attempts: readonly string[]) {
    super(
      'No MongoDB-compatible server could be started. Tried:\n' +
        attempts.map((a) => `  - ${a}`).join('\n') +
        '\nFix one of: set MONGODB_URI to a running MongoDB; put mongod on PATH; build FerretDB 1.24.2 ' +
        '(CGO_ENABLED=0 go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2, or `bash .ci/run` ' +
        'which provisions it) and put it on PATH; or install mongodb-memory-server-core where it may download mongod.',
    );
    this.name = 'EmbeddedMongoUnavailable';
  }
}

export async function findOnPath(command: string, envPath = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startEmbeddedMongo(options: EmbeddedOptions): Promise<EmbeddedMongo> {
  const attempts: string[] = [];
  const kinds: EmbeddedKind[] = options.only ? [options.only] : ['mongod', 'ferretdb', 'mongodb-memory-server'];
  for (const kind of kinds) {
    try {
      const started = await starters[kind](options);
      if (started) return started;
      attempts.push(`${kind}: not installed`);
    } catch (error) {
      attempts.push(`${kind}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new EmbeddedMongoUnavailable(attempts);
}

type Starter = (options: EmbeddedOptions) => Promise<EmbeddedMongo | undefined>;

const starters: Record<EmbeddedKind, Starter> = {
  async mongod(options) {
    const binary = await findOnPath('mongod');
    if (!binary) return undefined;
    const dataDir = path.resolve(options.dataDir, 'mongod');
    await mkdir(dataDir, { recursive: true });
    const port = options.port ?? (await freePort());
    return spawnServer('mongod', binary, ['--dbpath', dataDir, '--port', String(port), '--bind_ip', '127.0.0.1', '--quiet'], port, dataDir, options);
  },
  async ferretdb(options) {
    const binary = await findOnPath('ferretdb');
    if (!binary) return undefined;
    const dataDir = path.resolve(options.dataDir, 'ferretdb');
    await mkdir(dataDir, { recursive: true });
    const port = options.port ?? (await freePort());
    const args = [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--state-dir=-',
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=warn',
    ];
    return spawnServer('ferretdb', binary, args, port, dataDir, options);
  },
  async 'mongodb-memory-server'(options) {
    const MongoMemoryServer = await import('mongodb-memory-server-core').then(
      (module) => module.MongoMemoryServer,
      () => undefined,
    );
    if (!MongoMemoryServer) return undefined;
    const dataDir = path.resolve(options.dataDir, 'mongodb-memory-server');
    await mkdir(dataDir, { recursive: true });
    const server = await MongoMemoryServer.create({
      instance: { dbPath: dataDir, storageEngine: 'wiredTiger', ip: '127.0.0.1', ...(options.port ? { port: options.port } : {}) },
    });
    const uri = server.getUri();
    let stopped = false;
    return {
      kind: 'mongodb-memory-server',
      uri,
      port: Number(new URL(uri).port),
      dataDir,
      async stop() {
        if (stopped) return;
        stopped = true;
        await server.stop({ doCleanup: false });
      },
    };
  },
};

async function spawnServer(
  kind: EmbeddedKind,
  binary: string,
  args: string[],
  port: number,
  dataDir: string,
  options: EmbeddedOptions,
): Promise<EmbeddedMongo> {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', keep.bind(null, Buffer.from('spawn failed')));

  const uri = `mongodb://127.0.0.1:${port}/`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
  let lastError = '';
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`${binary} exited with code ${child.exitCode} while starting: ${output.trim().slice(-500)}`);
    }
    if (Date.now() > deadline) {
      await terminate(child, exited);
      throw new Error(`${binary} did not answer on ${uri} in time (${lastError}): ${output.trim().slice(-500)}`);
    }
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 500, connectTimeoutMS: 500 });
    try {
      await client.db('admin').command({ ping: 1 });
      break;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
      await new Promise((r) => setTimeout(r, 150));
    } finally {
      await client.close().catch(() => undefined);
    }
  }

  let stopping: Promise<void> | undefined;
  return {
    kind,
    uri,
    port,
    dataDir,
    stop() {
      stopping ??= terminate(child, exited);
      return stopping;
    },
  };
}

async function terminate(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
