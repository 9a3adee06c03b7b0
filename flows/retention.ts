import { z } from 'zod';
import { defineFlow } from '../src/flow.ts';
import { JobNames } from '../src/jobs/names.ts';
import { defineJob } from '../src/jobs/scheduler.ts';

const DAY_MS = 86_400_000;

/**
 * Keeps what Herald stores no longer than it must (GDPR): a daily job deletes finished ledger
 * entries past the retention period. A job, not a TTL index, so every MongoDB-compatible server
 * honours it the same way.
 */
export default defineFlow({
  name: 'retention',
  jobs: ({ stores, clock }) => [
    defineJob({
      name: JobNames.ledgerPurge,
      schema: z.object({ retentionDays: z.number().int().min(1).max(3_650) }),
      async handler({ retentionDays }, { log }) {
        const cutoff = new Date(clock.now().getTime() - retentionDays * DAY_MS);
        const deleted = await stores.ledger.purgeFinishedBefore(cutoff);
        log.info({ deleted, cutoff }, 'ledger entries past retention deleted');
      },
    }),
  ],
  async start({ scheduler, config }) {
    await scheduler.every('15 3 * * *', JobNames.ledgerPurge, { retentionDays: config.LEDGER_RETENTION_DAYS }, { timezone: 'UTC' });
  },
});
