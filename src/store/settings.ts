import type { Collection, Db } from 'mongodb';
import type { BrandVoice } from '../ai/assistant.ts';
import type { NetworkId } from '../core/networks.ts';
import { defaultPolicy, type ApprovalPolicy } from '../core/policy.ts';
import type { BusinessHours, InboxRule } from '../core/inbox.ts';
import type { OnCallRotation } from '../core/oncall.ts';
import type { Goal } from '../core/digest.ts';
import type { Slot } from '../core/slots.ts';
import type { Repository } from './indexes.ts';

/** A team's own settings, set from chat with /herald commands. */
export interface WorkspaceSettings {
  workspace: string;
  /** Channel id where draft cards go; the channel a draft came from when unset. */
  approvalsChannel?: string;
  /** Channels where the draft reaction turns a message into a draft. */
  watchedChannels: string[];
  /** Slack emoji name or Discord unicode emoji that starts a draft. */
  draftReaction: string;
  defaultNetworks: NetworkId[];
  voice?: BrandVoice;
  policy: ApprovalPolicy;
  /** A channel's own policy overrides the workspace's. */
  channelPolicies: { channel: string; policy: ApprovalPolicy }[];
  locale?: string;
  /** Pause-all: while set, nothing is published; /herald resume decides what happens to what was held. */
  paused?: { reason: string; by: string; at: Date };
  /** IANA time zone for the calendar and schedule input on platforms that do not give a person's own. */
  timezone?: string;
  /** Posting slots per network account, for "Add to queue". */
  slots: { network: NetworkId; slots: Slot[] }[];
  /** Inbox routing, first match wins; items no rule takes go to the approvals channel. */
  inboxRules: InboxRule[];
  /** For inbox SLAs; the workspace's time zone applies. */
  businessHours?: Omit<BusinessHours, 'timeZone'>;
  /** Seconds between inbox fetches, per account id (INBOX_POLL_SECONDS otherwise). */
  inboxPoll: { accountId: string; seconds: number }[];
  /** Crisis detection: where incidents go, what to watch for, how readily a spike counts. */
  crisis: CrisisSettings;
  /** Who is paged when an incident opens, and who next when nobody acknowledges. */
  oncall?: OnCallRotation;
  /** The weekly digest: where and when (Monday 09:00 in the workspace's time zone by default). */
  digest?: DigestSettings;
  /** Weekly targets set with /herald goals, shown against the week in the digest. */
  goals: Goal[];
}

export interface DigestSettings {
  /** Channel id of the digest; the approvals channel when unset. */
  channel?: string;
  /** 0 = Sunday … 6 = Saturday. */
  weekday: number;
  /** HH:MM local time. */
  time: string;
  /** The workspace's time zone (then UTC) when unset. */
  timeZone?: string;
  /** Off stops the weekly message; /herald report still works. */
  enabled: boolean;
  /** When it was switched on: a week due before that is not owed. */
  since?: Date;
}

export const crisisSensitivities = ['low', 'medium', 'high'] as const;
export type CrisisSensitivity = (typeof crisisSensitivities)[number];

export interface CrisisSettings {
  /** Channel id of the incident cards; the approvals channel when unset. */
  channel?: string;
  /** Words and phrases that open an incident wherever they appear (any language, any accents). */
  watchlist: string[];
  sensitivity: CrisisSensitivity;
  /** Followers from which a negative author counts as high-reach (INBOX_RISKY_FOLLOWERS otherwise). */
  reachFollowers?: number;
}

type SettingsDocument = Omit<WorkspaceSettings, 'workspace'> & { _id: string };

export interface SettingsStore extends Repository {
  get(workspace: string): Promise<WorkspaceSettings>;
  update(workspace: string, changes: Partial<Omit<WorkspaceSettings, 'workspace'>>): Promise<WorkspaceSettings>;
  /** Every workspace that has settings (the digest check walks them). */
  workspaces(): Promise<WorkspaceSettings[]>;
  resume(workspace: string): Promise<void>;
  /** The policy that governs a draft created in `channel`. */
  policyFor(settings: WorkspaceSettings, channel: string | undefined): ApprovalPolicy;
}

export function defaultSettings(workspace: string): WorkspaceSettings {
  return { workspace, watchedChannels: [], draftReaction: 'memo', defaultNetworks: ['bluesky', 'mastodon'], policy: defaultPolicy, channelPolicies: [], slots: [], inboxRules: [], inboxPoll: [], crisis: { watchlist: [], sensitivity: 'medium' }, goals: [] };
}

export function createSettingsStore(db: Db): SettingsStore {
  const settings: Collection<SettingsDocument> = db.collection<SettingsDocument>('workspace_settings');
  const get = async (workspace: string): Promise<WorkspaceSettings> => {
    const found = await settings.findOne({ _id: workspace });
    if (!found) return defaultSettings(workspace);
    const { _id, ...rest } = found;
    return { ...defaultSettings(workspace), ...rest, workspace: _id };
  };
  return {
    collectionName: 'workspace_settings',
    indexes: [],
    get,
    async update(workspace, changes) {
      await settings.updateOne({ _id: workspace }, { $set: changes }, { upsert: true });
      return get(workspace);
    },
    async workspaces() {
      const found = await settings.find({}).toArray();
      return found.map(({ _id, ...rest }) => ({ ...defaultSettings(_id), ...rest, workspace: _id }));
    },
    async resume(workspace) {
      await settings.updateOne({ _id: workspace }, { $unset: { paused: '' } });
    },
    policyFor(current, channel) {
      return current.channelPolicies.find((p) => p.channel === channel)?.policy ?? current.policy;
    },
  };
}
