import { readFile } from 'node:fs/promises';

/** The p-th quantile (0..1) of an ascending array, nearest rank; NaN when empty. */
export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;

async function rssOf(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : undefined;
}

/**
 * Samples this process's resident set size (and optionally another process's, from /proc) every
 * `everyMs`, keeping the peak. The timer is unref'd: it never keeps the process alive.
 */
export class RssSampler {
  peak = 0;
  first = 0;
  peakOther: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly everyMs: number;
  private readonly otherPid: number | undefined;

  constructor(everyMs: number, otherPid?: number) {
    this.everyMs = everyMs;
    this.otherPid = otherPid;
  }

  start(): void {
    this.first = process.memoryUsage().rss;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(): void {
    this.peak = Math.max(this.peak, process.memoryUsage().rss);
    if (this.otherPid !== undefined) {
      void rssOf(this.otherPid).then((bytes) => {
        if (bytes !== undefined) this.peakOther = Math.max(this.peakOther ?? 0, bytes);
      });
    }
  }
}
