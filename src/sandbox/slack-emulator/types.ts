/**
 * Plain, serialisable data shapes of the Slack emulator's state. Everything in `SlackState` is
 * JSON-friendly so a browser sandbox can render it as a workspace.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Obj = Record<string, unknown>;

export interface SlackUser {
  id: string;
  team_id: string;
  name: string;
  real_name: string;
  is_admin: boolean;
  is_owner: boolean;
  is_bot: boolean;
  deleted: boolean;
  tz: string;
  profile: { display_name: string; real_name: string; email?: string; image_72: string; bot_id?: string };
}

export interface SlackChannel {
  id: string;
  name: string;
  is_channel: boolean;
  is_group: boolean;
  is_im: boolean;
  is_mpim: boolean;
  is_private: boolean;
  is_archived: boolean;
  created: number;
  /** For IMs: the other user. */
  user?: string;
  members: string[];
  topic: { value: string };
  purpose: { value: string };
}

export interface SlackUserGroup {
  id: string;
  team_id: string;
  name: string;
  handle: string;
  description: string;
  users: string[];
}

export interface SlackReaction {
  name: string;
  users: string[];
  count: number;
}

export interface SlackFileRef {
  id: string;
  name: string;
  title: string;
  alt_txt?: string;
  mimetype: string;
  size: number;
  /** Slack puts the authenticated download URL on the file objects of a message too. */
  url_private?: string;
}

export interface SlackMessage {
  type: 'message';
  ts: string;
  channel: string;
  user?: string;
  bot_id?: string;
  app_id?: string;
  text: string;
  blocks?: Obj[];
  attachments?: Obj[];
  thread_ts?: string;
  parent_user_id?: string;
  reply_count?: number;
  reply_users?: string[];
  latest_reply?: string;
  files?: SlackFileRef[];
  upload?: boolean;
  edited?: { user: string; ts: string };
  reactions?: SlackReaction[];
  metadata?: Obj;
  reply_broadcast?: boolean;
  subtype?: string;
  /** How the message got here: Web API call, response_url, or a simulated user. */
  source: 'api' | 'response_url' | 'ack' | 'user';
}

export interface SlackEphemeral {
  ts: string;
  channel: string;
  /** The only user who can see it. */
  user: string;
  bot_id: string;
  text: string;
  blocks?: Obj[];
  attachments?: Obj[];
  thread_ts?: string;
  source: 'api' | 'response_url' | 'ack';
  deleted?: boolean;
}

export interface SlackView {
  id: string;
  team_id: string;
  type: string;
  callback_id: string;
  external_id: string;
  title?: Obj;
  submit?: Obj;
  close?: Obj;
  blocks: Obj[];
  private_metadata: string;
  notify_on_close: boolean;
  clear_on_close: boolean;
  hash: string;
  root_view_id: string;
  previous_view_id: string | null;
  app_id: string;
  bot_id: string;
  /** The user the modal is open for. */
  user: string;
  status: 'open' | 'closed';
  /** Set by response_action 'errors': block_id → message. */
  errors?: Record<string, string>;
  state: { values: Record<string, Record<string, Obj>> };
}

export interface SlackFile extends SlackFileRef {
  created: number;
  user: string;
  filetype: string;
  snippet_type?: string;
  uploaded: boolean;
  channels: string[];
  shares: { channel: string; ts: string; thread_ts?: string }[];
  url_private: string;
}

export interface SlackState {
  team: { id: string; name: string; domain: string };
  app: { id: string; botId: string; botUserId: string; name: string };
  users: SlackUser[];
  channels: SlackChannel[];
  userGroups: SlackUserGroup[];
  /** All messages (top level and thread replies) per channel id, in ts order. */
  messages: Record<string, SlackMessage[]>;
  ephemerals: SlackEphemeral[];
  views: SlackView[];
  files: SlackFile[];
}

export interface ChangeEvent {
  kind: string;
  channel?: string;
  ts?: string;
  user?: string;
  viewId?: string;
  fileId?: string;
}

export type EnvelopeType = 'events_api' | 'slash_commands' | 'interactive';

export interface DeliveryResult {
  deliveryId: string;
  envelopeId: string;
  type: EnvelopeType;
  /** events_api only */
  eventId?: string;
  delivered: boolean;
  acked: boolean;
  /** The ack payload (Socket Mode) or the parsed response body (HTTP). */
  payload?: unknown;
  latencyMs?: number;
  retryAttempt: number;
  /** HTTP delivery only. */
  status?: number;
  error?: string;
}

export interface SendOptions {
  retryAttempt?: number;
  retryReason?: string;
  acceptsResponsePayload?: boolean;
  envelopeId?: string;
  deliveryId?: string;
  timeoutMs?: number;
}

export type LogFn = (msg: string, data?: object) => void;

export interface SlackEmulatorOptions {
  teamId?: string;
  botToken?: string;
  appToken?: string;
  signingSecret?: string;
  delivery?: 'socket' | { httpUrl: string };
  /** How long a delivery waits for its ack; Slack's limit is 3 s. */
  ackTimeoutMs?: number;
  log?: LogFn;
  /** 'test' (default): alice (admin), bob, carol, #general, #approvals and @approvers; 'none': only the bot. */
  people?: 'test' | 'none';
}
