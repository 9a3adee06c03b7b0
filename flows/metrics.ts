import { z } from 'zod';
import type { Draft } from '../src/core/draft.ts';
import { errorMessage } from '../src/core/errors.ts';
import type { NetworkId } from '../src/core/networks.ts';
import { defineFlow, type FlowContext } from '../src/flow.ts';
import { JobNames } from '../src/jobs/names.ts';
import { defineJob, PermanentJobError } from '../src/jobs/scheduler.ts';
import type { Logger } from '../src/log.ts';
import { clientFor } from '../src/networks/index.ts';
import { NetworkError } from '../src/networks/port.ts';
import { snapshotStages, stageDelayMs, type Publication } from '../src/store/metrics.ts';

/**
 * Metrics collection: each published post's counters 1 h, 24 h and 7 days after publishing (one
 * job per post and stage), every account's followers four times a day (the day's last reading
 * counts), and the purge of raw snapshots past METRICS_RETENTION_DAYS.
 */

const DAY_MS = 86_400_000;
const EXCERPT_LENGTH = 90;

export const publicationId = (draft: Pick<Draft, 'id' | 'version'>, network: NetworkId): string => `${draft.id}:v${draft.version}:${network}`;

/**
 * The publishing flow's report of a network's final outcome: recorded for the digest, and a
 * published post gets its snapshot jobs. Never throws into publishing: a failure here is logged.
 */
export async function recordOutcome(
  app: FlowContext,
  draft: Draft,
  network: NetworkId,
  outcome: { accountId?: string; status: 'published'; remoteId: string; url: string } | { accountId?: string; status: 'failed'; reason: string },
  log: Logger,
): Promise<void> {
  try {
    const now = app.clock.now();
    const id = publicationId(draft, network);
    const excerpt = (draft.variants.find((v) => v.network === network)?.posts[0] ?? draft.text).replace(/\s+/g, ' ').slice(0, EXCERPT_LENGTH);
    const publication: Publication = {
      id,
      workspace: draft.workspace,
      accountId: outcome.accountId ?? `none:${network}`,
      network,
      draftId: draft.id,
      status: outcome.status,
      dueAt: draft.scheduledAt ?? now,
      excerpt,
      ...(outcome.status === 'published' ? { publishedAt: now, remoteId: outcome.remoteId, url: outcome.url } : { reason: outcome.reason }),
    };
    await app.stores.metrics.recordPublication(publication);
    if (outcome.status !== 'published') return;
    for (const stage of snapshotStages) {
      await app.scheduler.at(new Date(now.getTime() + stageDelayMs[stage]), JobNames.metricsSnapshot, { publicationId: id, stage });
    }
  } catch (error) {
    log.error({ draftId: draft.id, network, err: errorMessage(error) }, 'could not record the publication for metrics');
  }
}


/** Reads one publication's counters now and stores them under `stage` (the snapshot job; the sandbox's digest-now). */
export async function snapshot(app: FlowContext, publicationId: string, stage: (typeof snapshotStages)[number], log: Logger): Promise<void> {
  const publication = await app.stores.metrics.publication(publicationId);
  if (!publication?.remoteId) return;
  const account = await app.stores.accounts.get(publication.accountId);
  // A removed account has no credentials left to read with: its posts keep what was taken.
  if (!account) return;
  const client = clientFor(account, await app.stores.accounts.credentials(account.id), log);
  if (!client?.fetchMetrics) return;
  let found;
  try {
    found = await client.fetchMetrics([publication.remoteId]);
  } catch (error) {
    if (error instanceof NetworkError && !error.transient) throw new PermanentJobError(`metrics of ${publicationId}: ${error.message}`, { cause: error });
    throw error;
  }
  const metrics = found.find((m) => m.remoteId === publication.remoteId);
  if (!metrics) {
    log.info({ publicationId, stage }, 'post is gone from the network; no snapshot');
    return;
  }
  await app.stores.metrics.recordSnapshot(publication, stage, metrics);
  log.info({ publicationId, stage, likes: metrics.likes, reposts: metrics.reposts, replies: metrics.replies }, 'metrics snapshot taken');
}

/** Every account's follower count now; one failing account does not stop the others. */
export async function readFollowers(app: FlowContext, log: Logger): Promise<{ read: number; failed: number }> {
  let read = 0;
  let failed = 0;
  for (const account of await app.stores.accounts.listAll()) {
    try {
      const client = clientFor(account, await app.stores.accounts.credentials(account.id), log);
      if (!client?.followers) continue;
      const followers = await client.followers();
      await app.stores.metrics.recordFollowers({ workspace: account.workspace, accountId: account.id, network: account.network, followers });
      read += 1;
    } catch (error) {
      failed += 1;
      log.warn({ accountId: account.id, err: errorMessage(error) }, 'could not read the follower count');
    }
  }
  return { read, failed };
}

export default defineFlow({
  name: 'metrics',
  jobs: (app) => [
    defineJob({
      name: JobNames.metricsSnapshot,
      schema: z.object({ publicationId: z.string().min(1), stage: z.enum(snapshotStages) }),
      retry: { maxRetries: 5, delayMs: 60_000, maxDelayMs: 3_600_000 },
      removeOnComplete: true,
      handler: ({ publicationId: id, stage }, { log }) => snapshot(app, id, stage, log),
    }),
    defineJob({
      name: JobNames.metricsFollowers,
      schema: z.object({}),
      async handler(_data, { log }) {
        const { read, failed } = await readFollowers(app, log);
        log.info({ read, failed }, 'follower counts read');
      },
    }),
    defineJob({
      name: JobNames.metricsPurge,
      schema: z.object({ retentionDays: z.number().int().min(1).max(3_650) }),
      async handler({ retentionDays }, { log }) {
        const cutoff = new Date(app.clock.now().getTime() - retentionDays * DAY_MS);
        const deleted = await app.stores.metrics.purgeSnapshotsBefore(cutoff);
        log.info({ deleted, cutoff }, 'metric snapshots past retention deleted');
      },
    }),
  ],
  async start(app) {
    // Four readings a day: the day's last one counts, so a Herald down at one of them loses nothing.
    await app.scheduler.every('5 */6 * * *', JobNames.metricsFollowers, {}, { timezone: 'UTC' });
    await app.scheduler.every('25 4 * * *', JobNames.metricsPurge, { retentionDays: app.config.METRICS_RETENTION_DAYS }, { timezone: 'UTC' });
  },
});
