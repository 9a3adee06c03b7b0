/** Every job Herald schedules, by name. A job document in MongoDB outlives a deploy: never rename one. */
export const JobNames = {
  ledgerPurge: 'retention.ledger-purge',
  /** Reminds (then escalates to) the approvers of a draft still pending. */
  approvalRemind: 'approval.remind',
  /** A draft's scheduled time: publish when approved, otherwise fail closed. */
  publishDue: 'publishing.due',
  /** One network's side of a due draft: publish (exactly once), retry transient failures. */
  publishNetwork: 'publishing.network',
  /** One account's inbox: fetch what is new since its cursor (recurring, one per account). */
  inboxFetch: 'inbox.fetch',
  /** A workspace's waiting inbox items: post cards, thread messages and burst summaries, paced. */
  inboxDeliver: 'inbox.deliver',
  /** A reply typed in a card's thread: post it on the network (exactly once), retry transient failures. */
  inboxReply: 'inbox.reply',
  /** A conversation's first-response deadline: remind before it, and at breach. */
  inboxSla: 'inbox.sla',
  /** Deletes inbound items and their authors' data past retention (GDPR). */
  inboxPurge: 'inbox.purge',
  /** One escalation step of an incident: page, then schedule the next step. */
  crisisPage: 'crisis.page',
  /** Deletes volume counts past their retention. */
  crisisPurge: 'crisis.purge',
  /** One published post's counters at 1 h, 24 h or 7 days. */
  metricsSnapshot: 'metrics.snapshot',
  /** Every account's follower count (recurring; the day's last reading counts). */
  metricsFollowers: 'metrics.followers',
  /** Deletes raw metric snapshots past retention. */
  metricsPurge: 'metrics.purge',
  /** Sends each workspace's weekly digest when it is due, once (recurring check). */
  digestCheck: 'digest.check',
} as const;

export type JobName = (typeof JobNames)[keyof typeof JobNames] | `test.${string}`;
