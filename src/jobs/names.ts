/** Every job Herald schedules, by name. A job document in MongoDB outlives a deploy: never rename one. */
export const JobNames = {
  ledgerPurge: 'retention.ledger-purge',
  /** Reminds (then escalates to) the approvers of a draft still pending. */
  approvalRemind: 'approval.remind',
  /** A draft's scheduled time: publish when approved, otherwise fail closed. */
  publishDue: 'publishing.due',
  /** One network's side of a due draft: publish (exactly once), retry transient failures. */
  publishNetwork: 'publishing.network',
} as const;

export type JobName = (typeof JobNames)[keyof typeof JobNames] | `test.${string}`;
