import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface HeraldProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote so far. */
  stdout(): string;
  stderr(): string;
  /** JSON log lines written so far. */
  lines(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line matching the predicate. */
  waitForLine(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

const npmStartArgs = ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', 'src/main.ts'];

/**
 * Runs `src/main.ts` exactly as `npm start` does (or other node arguments, e.g. a compiled build),
 * with the given environment only.
 */
export function spawnHerald(env: Record<string, string>, nodeArgs: readonly string[] = npmStartArgs): HeraldProcess {
  const child = spawn(process.execPath, [...nodeArgs], {
    cwd: root,
    // The sandbox starts only where a test asks for it (HERALD_SANDBOX: 'auto' or 'on').
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_FORMAT: 'json', HERALD_SANDBOX: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const lines = (): Record<string, unknown>[] =>
    out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    lines,
    exited,
    async waitForLine(predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = lines().find(predicate);
        if (found) return found;
        if (child.exitCode !== null) throw new Error(`herald exited (${child.exitCode}) before the line appeared:\n${out}\n${err}`);
        if (Date.now() > deadline) throw new Error(`line not seen within ${timeoutMs} ms:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
