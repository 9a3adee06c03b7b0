import { errorMessage } from '../core/errors.ts';

/** A part Herald needs to serve traffic; a check resolves when the part is fine and throws otherwise. */
export type ReadinessCheck = () => Promise<void> | void;

export interface ReadinessReport {
  ok: boolean;
  checks: { name: string; ok: boolean; error?: string }[];
}

export interface Readiness {
  register(name: string, check: ReadinessCheck): void;
  evaluate(): Promise<ReadinessReport>;
}

export function createReadiness(timeoutMs = 2_500): Readiness {
  const checks = new Map<string, ReadinessCheck>();
  const run = async (check: ReadinessCheck): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(check),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    register(name, check) {
      checks.set(name, check);
    },
    async evaluate() {
      const results = await Promise.all(
        [...checks].map(async ([name, check]) => {
          try {
            await run(check);
            return { name, ok: true };
          } catch (error) {
            return { name, ok: false, error: errorMessage(error) };
          }
        }),
      );
      return { ok: results.every((r) => r.ok), checks: results };
    },
  };
}
