import type { webApi } from '@slack/bolt';
import { stripMentionMarks } from '../model.ts';
import type { ConversationRef, FileRef } from '../port.ts';
import { fileRefs } from './events.ts';
import { files as filesSchema } from './payloads.ts';
import { slackErrorCode } from './responder.ts';
import { unescapeText } from './render.ts';

/** Answers that mean "no such message (any more)" rather than a failure worth raising. */
const GONE = new Set(['message_not_found', 'thread_not_found', 'channel_not_found', 'not_in_channel']);

export interface FetchedMessage {
  text: string;
  authorId: string;
  files: FileRef[];
}

interface HistoryMessage {
  ts?: string;
  text?: string;
  user?: string;
  bot_id?: string;
  files?: unknown;
}

/** Reading back messages Herald did not receive itself: a reaction names only the message. */
export function createSlackMessageReader(web: webApi.WebClient): {
  permalink(ref: ConversationRef): Promise<string | undefined>;
  fetchMessage(ref: ConversationRef): Promise<FetchedMessage | undefined>;
} {
  const gone = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (error) {
      if (GONE.has(slackErrorCode(error) ?? '')) return undefined;
      throw error;
    }
  };

  const toFetched = (m: HistoryMessage | undefined): FetchedMessage | undefined => {
    if (!m) return undefined;
    const parsedFiles = filesSchema.safeParse(m.files);
    return { text: stripMentionMarks(unescapeText(m.text ?? '')), authorId: m.user ?? m.bot_id ?? '', files: parsedFiles.success ? fileRefs(parsedFiles.data) : [] };
  };

  return {
    async permalink(ref) {
      if (!ref.message) return undefined;
      const res = await gone(() => web.chat.getPermalink({ channel: ref.channel, message_ts: ref.message as string }));
      return res?.permalink;
    },

    async fetchMessage(ref) {
      const ts = ref.message;
      if (!ts) return undefined;
      // A top-level message is one history call; a thread reply (a reaction names no thread) needs replies.
      if (!ref.thread) {
        const history = await gone(() => web.conversations.history({ channel: ref.channel, latest: ts, inclusive: true, limit: 1 }));
        const top = (history?.messages as HistoryMessage[] | undefined)?.find((m) => m.ts === ts);
        if (top) return toFetched(top);
      }
      const replies = await gone(() => web.conversations.replies({ channel: ref.channel, ts: ref.thread ?? ts, latest: ts, inclusive: true, limit: 200 }));
      return toFetched((replies?.messages as HistoryMessage[] | undefined)?.find((m) => m.ts === ts));
    },
  };
}
