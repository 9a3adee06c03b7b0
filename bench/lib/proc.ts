/**
 * Another process's CPU time, from /proc (Linux): the database server runs beside the bench, and
 * what it spends per item belongs in the figures too. Everything answers undefined elsewhere.
 */
import { readFile, readdir } from 'node:fs/promises';

/** The process whose command line mentions `needle` (e.g. the embedded database's data folder). */
export async function findPidByCommandLine(needle: string): Promise<number | undefined> {
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) return Number(entry);
  }
  return undefined;
}

/** User + system CPU milliseconds the process has used so far. */
export async function cpuMsOf(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  // Clock ticks are 100 per second on every Linux Node runs on.
  return (utime + stime) * 10;
}

/** This process's user + system CPU milliseconds. */
export const ownCpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1_000;
};
