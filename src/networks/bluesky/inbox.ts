import { AtUri, type AppBskyFeedPost, type AppBskyNotificationListNotifications } from '@atproto/api';
import type { InboxItem } from '../port.ts';

type Notification = AppBskyNotificationListNotifications.Notification;

/** Notification reasons that are conversations with the brand (likes, reposts and follows are not). */
const kinds: Record<string, InboxItem['kind']> = { reply: 'reply', mention: 'mention', quote: 'quote' };

export const postUrlOf = (uri: string, handle: string | undefined): string => {
  const at = new AtUri(uri);
  return `https://bsky.app/profile/${handle && handle !== 'handle.invalid' ? handle : at.host}/post/${at.rkey}`;
};

/**
 * One notification as an inbox item, or undefined for what the inbox does not take. `ownDid` tells
 * which parent or quoted post is ours; `ownHandle` makes its link.
 */
export function toInboxItem(notification: Notification, ownDid: string, ownHandle: string, followers: number | undefined): InboxItem | undefined {
  const kind = kinds[notification.reason];
  if (!kind) return undefined;
  const record = notification.record as Partial<AppBskyFeedPost.Record>;
  if (typeof record.text !== 'string') return undefined;
  const parent = record.reply?.parent.uri;
  const root = record.reply?.root.uri;
  const embedded = record.embed as { record?: { uri?: unknown }; $type?: string } | undefined;
  const quoted = typeof embedded?.record?.uri === 'string' ? embedded.record.uri : undefined;
  const answered = [parent, quoted].find((uri): uri is string => typeof uri === 'string' && uri.startsWith(`at://${ownDid}/`));
  const created = Date.parse(typeof record.createdAt === 'string' ? record.createdAt : notification.indexedAt);
  return {
    remoteId: notification.uri,
    // A reply to us also mentions us when it names the handle; what it answers decides its kind.
    kind: kind === 'mention' && parent ? 'reply' : kind,
    author: {
      handle: notification.author.handle,
      ...(notification.author.displayName ? { displayName: notification.author.displayName } : {}),
      ...(followers !== undefined ? { followers } : {}),
    },
    text: record.text,
    url: postUrlOf(notification.uri, notification.author.handle),
    createdAt: new Date(Number.isFinite(created) ? created : Date.parse(notification.indexedAt)),
    ...(parent ? { inReplyTo: parent } : {}),
    ...(root ? { rootId: root } : {}),
    ...(answered ? { ourPost: { remoteId: answered, url: postUrlOf(answered, ownHandle) } } : {}),
  };
}
