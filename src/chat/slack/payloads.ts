import { z } from 'zod';

/**
 * The parts of Slack's payloads Herald reads, as zod schemas. Slack adds fields all the time;
 * unknown ones are dropped, and a payload missing a field Herald needs is reported, never thrown.
 */

const user = z.object({ id: z.string().min(1), username: z.string().optional(), name: z.string().optional(), team_id: z.string().optional() });
const team = z.object({ id: z.string().min(1) }).nullish();
export const files = z
  .array(z.object({ id: z.string().optional(), name: z.string().nullish(), title: z.string().nullish(), url_private: z.string().optional(), mimetype: z.string().optional(), alt_txt: z.string().optional() }))
  .optional();

export const slashCommand = z.object({
  command: z.string().regex(/^\/?[^\s/]+$/),
  text: z.string().optional(),
  user_id: z.string().min(1),
  user_name: z.string().optional(),
  channel_id: z.string().min(1),
  channel_name: z.string().optional(),
  team_id: z.string().min(1),
  trigger_id: z.string().optional(),
  response_url: z.string().optional(),
});

const action = z.object({
  action_id: z.string(),
  type: z.string(),
  selected_option: z.object({ value: z.string() }).nullish(),
  selected_user: z.string().nullish(),
});

export const blockActions = z.object({
  type: z.literal('block_actions'),
  user,
  team,
  trigger_id: z.string().optional(),
  response_url: z.string().optional(),
  container: z.object({ type: z.string().optional(), message_ts: z.string().optional(), channel_id: z.string().optional(), thread_ts: z.string().optional() }).optional(),
  channel: z.object({ id: z.string() }).nullish(),
  message: z.object({ ts: z.string(), thread_ts: z.string().optional() }).optional(),
  actions: z.array(action).min(1),
});

export const elementState = z.object({
  type: z.string(),
  value: z.string().nullish(),
  selected_option: z.object({ value: z.string() }).nullish(),
  selected_options: z.array(z.object({ value: z.string() })).nullish(),
  selected_user: z.string().nullish(),
  selected_users: z.array(z.string()).nullish(),
  selected_date_time: z.number().nullish(),
  selected_date: z.string().nullish(),
  selected_time: z.string().nullish(),
  selected_conversation: z.string().nullish(),
  selected_channel: z.string().nullish(),
});

export const viewSubmission = z.object({
  type: z.literal('view_submission'),
  user,
  team,
  trigger_id: z.string().optional(),
  view: z.object({
    id: z.string(),
    callback_id: z.string(),
    private_metadata: z.string().optional(),
    blocks: z.array(z.object({ type: z.string(), block_id: z.string().optional() })).optional(),
    state: z.object({ values: z.record(z.string(), z.record(z.string(), elementState)) }),
  }),
});

export const messageAction = z.object({
  type: z.literal('message_action'),
  callback_id: z.string().min(1),
  user,
  team,
  trigger_id: z.string().optional(),
  response_url: z.string().optional(),
  channel: z.object({ id: z.string().min(1) }),
  message: z.object({ ts: z.string(), text: z.string().optional(), thread_ts: z.string().optional(), files }),
});

export const messageEvent = z.object({
  type: z.literal('message'),
  subtype: z.string().optional(),
  channel: z.string().min(1),
  user: z.string().optional(),
  bot_id: z.string().nullish(),
  text: z.string().optional(),
  ts: z.string().min(1),
  thread_ts: z.string().optional(),
  channel_type: z.string().optional(),
  files,
});

export const mentionEvent = messageEvent.extend({ type: z.literal('app_mention') });

export const reactionEvent = z.object({
  type: z.literal('reaction_added'),
  user: z.string().min(1),
  reaction: z.string().min(1),
  item: z.object({ type: z.string(), channel: z.string().optional(), ts: z.string().optional() }),
});

export const eventCallback = z.object({ team_id: z.string().optional(), event_id: z.string().optional(), event: z.object({ type: z.string() }) });

export type ElementState = z.infer<typeof elementState>;
export type SlackFiles = z.infer<typeof files>;
