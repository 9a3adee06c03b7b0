/** Every job Herald schedules, by name. A job document in MongoDB outlives a deploy: never rename one. */
export const JobNames = {
  ledgerPurge: 'retention.ledger-purge',
} as const;

export type JobName = (typeof JobNames)[keyof typeof JobNames] | `test.${string}`;
