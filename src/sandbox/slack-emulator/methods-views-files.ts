import { isObj } from './blocks.ts';
import { ApiError, type EmulatorCore } from './core.ts';
import { addBotMessage, messageContent, requireMember, str } from './methods-chat.ts';
import type { Obj, SlackFile, SlackFileRef } from './types.ts';
import { findView, openView, publicView, pushView, updateView } from './views.ts';
import type { MethodHandler } from './web-api.ts';

const MIME: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', pdf: 'application/pdf',
  txt: 'text/plain', csv: 'text/csv', json: 'application/json', md: 'text/markdown', mp4: 'video/mp4',
};

export function fileRef(f: SlackFile): SlackFileRef {
  return { id: f.id, name: f.name, title: f.title, mimetype: f.mimetype, size: f.size, ...(f.alt_txt ? { alt_txt: f.alt_txt } : {}) };
}

/** Stores bytes POSTed to an upload URL (@slack/web-api sends multipart with a `body` field). */
export function receiveUpload(core: EmulatorCore, fileId: string, body: Obj, raw: Buffer): boolean {
  const file = core.store.state.files.find((f) => f.id === fileId);
  if (!file) return false;
  const bytes = Buffer.isBuffer(body.body) ? body.body : Buffer.isBuffer(body.file) ? body.file : raw;
  core.fileBytes.set(fileId, bytes);
  file.size = bytes.length;
  file.uploaded = true;
  core.store.emit({ kind: 'file.uploaded', fileId });
  return true;
}

export const viewFileMethods: Record<string, MethodHandler> = {
  'views.open': (args, core) => ({ view: publicView(core, openView(core, args.trigger_id, args.view)) }),

  'views.push': (args, core) => {
    const user = core.exchangeTrigger(args.trigger_id);
    return { view: publicView(core, pushView(core, user, args.view)) };
  },

  'views.update': (args, core) => {
    const view = findView(core, args.view_id, args.external_id);
    return { view: publicView(core, updateView(core, view, args.view, args.hash)) };
  },

  'files.getUploadURLExternal': (args, core) => {
    const filename = str(args, 'filename');
    const length = Number(args.length);
    if (!filename || !Number.isInteger(length) || length <= 0) throw new ApiError('invalid_arguments');
    const id = core.store.nextId('F');
    const ext = filename.includes('.') ? (filename.split('.').pop() ?? '').toLowerCase() : '';
    const altTxt = str(args, 'alt_txt') ?? str(args, 'alt_text');
    const snippet = str(args, 'snippet_type');
    const file: SlackFile = {
      id,
      name: filename,
      title: filename,
      mimetype: MIME[ext] ?? 'application/octet-stream',
      size: length,
      created: Math.floor(Date.now() / 1000),
      user: core.config.botUserId,
      filetype: ext || 'binary',
      uploaded: false,
      channels: [],
      shares: [],
      url_private: `${core.baseUrl}files/${id}/${encodeURIComponent(filename)}`,
      ...(altTxt ? { alt_txt: altTxt } : {}),
      ...(snippet ? { snippet_type: snippet } : {}),
    };
    core.store.state.files.push(file);
    core.store.emit({ kind: 'file.created', fileId: id });
    return { upload_url: `${core.baseUrl}upload/${id}`, file_id: id };
  },

  'files.completeUploadExternal': (args, core) => {
    const list = Array.isArray(args.files) ? (args.files as unknown[]) : undefined;
    if (!list || list.length === 0 || !list.every(isObj)) throw new ApiError('invalid_arguments');
    const files = list.map((entry) => {
      const file = core.store.state.files.find((f) => f.id === entry.id);
      if (!file) throw new ApiError('file_not_found');
      if (!file.uploaded) throw new ApiError('file_upload_not_complete');
      if (typeof entry.title === 'string' && entry.title !== '') file.title = entry.title;
      return file;
    });
    const channelId = str(args, 'channel_id') ?? str(args, 'channels');
    if (channelId) {
      const channel = core.resolveChannel(channelId);
      requireMember(core, channel);
      const content = args.blocks !== undefined ? messageContent({ blocks: args.blocks }) : {};
      const threadTs = str(args, 'thread_ts');
      const msg = addBotMessage(core, channel.id, threadTs, { text: str(args, 'initial_comment') ?? '', ...content, files: files.map(fileRef), upload: true, source: 'api' });
      for (const f of files) {
        f.channels.push(channel.id);
        f.shares.push({ channel: channel.id, ts: msg.ts, ...(threadTs ? { thread_ts: threadTs } : {}) });
      }
    }
    return { files: files.map((f) => ({ ...f })) };
  },

  'files.info': (args, core) => {
    const file = core.store.state.files.find((f) => f.id === str(args, 'file'));
    if (!file) throw new ApiError('file_not_found');
    return { file: { ...file } };
  },
};
