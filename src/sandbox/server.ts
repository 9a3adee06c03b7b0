import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventEmitter } from 'node:events';
import { z } from 'zod';
import { snapshot, readFollowers } from '../../flows/metrics.ts';
import { allShortcuts } from '../../commands/index.ts';
import { createCommandRegistry, type Command } from '../chat/registry.ts';
import { buildSlackManifest } from '../chat/slack/manifest.ts';
import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../log.ts';
import { NetworkInputError, readJson, type SimulatedNetwork } from './network.ts';
import type { SandboxRun } from './index.ts';
import { SANDBOX_TEAM, sandboxChannels, sandboxUsers } from './users.ts';
import { slackEscape, type DeliveryResult } from './slack-emulator/index.ts';

/**
 * The sandbox page's server (127.0.0.1 only): the page itself, its JSON API (state, live events,
 * what a person does in the workspace or on the network) and the simulated network's API that
 * Herald's sandbox connector calls. Every input is checked; a refusal answers 4xx with a message
 * for the person and logs one line.
 */

export interface SandboxServerOptions {
  port: number;
  log: Logger;
  network: SimulatedNetwork;
  events: EventEmitter;
  current: () => SandboxRun;
  /** Counts the sandbox's (re)starts: a request that outlives one was cut by a reset. */
  generation: () => number;
  /** Resolves once a reset under way is over (at once when none is): requests wait for it. */
  settled: () => Promise<void>;
  commands: readonly Command[];
  reset: () => Promise<void>;
}

export interface SandboxServer {
  readonly url: string;
  close(): Promise<void>;
}

class RequestError extends Error {
  readonly status: number;
  constructor(message: string, status = 400) {
    super(message);
    this.status = status;
  }
}

const pageFiles: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/sandbox/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/sandbox/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const userId = z.enum(sandboxUsers.map((u) => u.id) as [string, ...string[]], { error: 'Choose one of the sandbox users.' });
const ts = z.string().regex(/^\d+\.\d+$/, 'not a message time stamp');
const schemas = {
  message: z.object({ user: userId, channel: z.string().min(1).max(40), text: z.string().max(4_000, 'Messages are at most 4,000 characters.'), threadTs: ts.optional() }),
  click: z.object({ user: userId, channel: z.string().min(1).max(40), ts, actionId: z.string().min(1).max(255) }),
  select: z.object({ user: userId, channel: z.string().min(1).max(40), ts, actionId: z.string().min(1).max(255), value: z.string().min(1).max(2_000) }),
  shortcut: z.object({ user: userId, channel: z.string().min(1).max(40), ts, callbackId: z.string().min(1).max(255) }),
  submit: z.object({ user: userId, viewId: z.string().min(1).max(64), values: z.record(z.string(), z.record(z.string(), z.union([z.string().max(4_000), z.number()]))) }),
  close: z.object({ user: userId, viewId: z.string().min(1).max(64) }),
  act: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('comment'), as: z.string(), postId: z.string(), text: z.string() }),
    z.object({ kind: z.literal('mention'), as: z.string(), text: z.string() }),
    z.object({ kind: z.enum(['like', 'repost']), as: z.string(), postId: z.string() }),
    z.object({ kind: z.literal('follow'), as: z.string() }),
    z.object({ kind: z.literal('pileon') }),
  ]),
  digest: z.object({ user: userId }),
};

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new RequestError(issue ? `${issue.path.join('.') || 'request'}: ${issue.message}` : 'The request is malformed.');
}

/** What Slack's composer does with @names: the sandbox users and @approvers become mentions. */
function withMentions(text: string): string {
  return text.replace(/(^|[\s,(])@([\p{L}\p{N}._-]+)/gu, (whole, lead: string, name: string) => {
    const user = sandboxUsers.find((u) => u.name === name.toLowerCase() || u.realName.toLowerCase() === name.toLowerCase());
    if (user) return `${lead}<@${user.id}|${user.name}>`;
    if (name.toLowerCase() === 'approvers') return `${lead}<!subteam^S_APPROVERS|@approvers>`;
    return whole;
  });
}

function delivered(result: DeliveryResult, what: string): void {
  if (!result.acked) throw new RequestError(`Herald did not answer the ${what} in time (${result.error ?? 'no acknowledgement'}). Try again.`, 503);
}

export async function startSandboxServer(options: SandboxServerOptions): Promise<SandboxServer> {
  const { log, network, events } = options;
  const registry = createCommandRegistry(options.commands);
  const manifest = buildSlackManifest({ commands: registry.declarations(), shortcuts: allShortcuts, appName: 'Herald', socketMode: true });
  const slashCommands = (manifest.features.slash_commands ?? []).map((c) => ({ command: c.command, description: c.description, usageHint: c.usage_hint ?? '' }));
  const shortcuts = allShortcuts.map((s) => ({ callbackId: s.id, name: s.name, description: s.description }));
  const pageDir = new URL('./page/', import.meta.url);
  const streams = new Set<ServerResponse>();

  const send = (response: ServerResponse, status: number, body: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    response.end(JSON.stringify(body));
  };

  /** The page's whole picture for one acting user. */
  function state(user: string): unknown {
    const { emulator, herald } = options.current();
    const s = emulator.state;
    const dm = s.channels.find((c) => c.is_im && c.user === user);
    const channelIds = [...sandboxChannels.map((c) => c.id), ...(dm ? [dm.id] : [])];
    return {
      me: user,
      users: sandboxUsers,
      directory: Object.fromEntries(s.users.map((u) => [u.id, { name: u.name, realName: u.real_name, isBot: u.is_bot }])),
      bot: { id: emulator.botUserId, name: 'Herald' },
      userGroups: s.userGroups.map((g) => ({ id: g.id, handle: g.handle, name: g.name })),
      channels: [
        ...sandboxChannels.map((c) => ({ id: c.id, name: c.name, purpose: c.purpose, isIm: false })),
        ...(dm ? [{ id: dm.id, name: 'Herald', purpose: 'Messages only you and Herald see.', isIm: true }] : []),
      ],
      messages: Object.fromEntries(channelIds.map((id) => [id, s.messages[id] ?? []])),
      ephemerals: emulator.ephemeralsFor(user),
      views: emulator.openViews(user),
      commands: slashCommands,
      shortcuts,
      network: network.view(),
      assistant: { mode: herald.context.assistant.mode, ...(herald.config.OPENAI_MODEL ? { model: herald.config.OPENAI_MODEL } : {}) },
    };
  }

  async function sendWeeklyDigest(user: string): Promise<void> {
    const { herald, emulator } = options.current();
    const app = herald.context;
    const workspace = `slack:${SANDBOX_TEAM}`;
    const now = app.clock.now();
    // The week's posts get their counters read now instead of at +1 h, and the followers too.
    for (const publication of await app.stores.metrics.published(workspace, new Date(now.getTime() - 8 * 86_400_000), now)) {
      await snapshot(app, publication.id, '1h', log).catch((error: unknown) => log.warn({ publicationId: publication.id, err: errorMessage(error) }, 'sandbox: snapshot failed'));
    }
    await readFollowers(app, log);
    delivered(await emulator.userRunsCommand({ user, channel: 'C_DIGEST', command: '/herald', text: 'report range:week' }), 'report command');
  }

  async function api(route: string, request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    // What arrives during a reset (the page's live refreshes) waits for the new workspace.
    if (route !== 'reset') {
      await options.settled();
      startedOn.set(request, options.generation());
    }
    if (route === 'state' && request.method === 'GET') return send(response, 200, state(parse(userId, url.searchParams.get('user') ?? 'U_WRITER')));
    if (route === 'events' && request.method === 'GET') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      response.write('retry: 1000\n\n');
      streams.add(response);
      request.on('close', () => streams.delete(response));
      return;
    }
    if (request.method !== 'POST') throw new RequestError(`No ${request.method} ${route} here.`, 404);
    const body = await readJson(request, 64 * 1024);
    // Reset first: it must work when the sandbox failed to start too.
    if (route === 'reset') {
      await options.reset();
      return send(response, 200, { ok: true });
    }
    const { emulator } = options.current();
    switch (route) {
      case 'message': {
        const input = parse(schemas.message, body);
        const text = input.text.trim();
        if (!text) throw new RequestError('Type a message first.');
        const command = /^(\/[a-z][\w-]*)(?:\s+([\s\S]*))?$/.exec(text);
        if (command) {
          const name = command[1]!;
          if (!slashCommands.some((c) => c.command === name)) throw new RequestError(`Herald has no ${name} command here. Try ${slashCommands.map((c) => c.command).join(' or ')}.`);
          delivered(await emulator.userRunsCommand({ user: input.user, channel: input.channel, command: name, text: slackEscape(withMentions(command[2] ?? '')) }), `${name} command`);
        } else {
          delivered(await emulator.userPostsMessage({ user: input.user, channel: input.channel, text: slackEscape(withMentions(text)), ...(input.threadTs ? { threadTs: input.threadTs } : {}) }), 'message');
        }
        return send(response, 200, { ok: true });
      }
      case 'click':
        delivered(await emulator.userClicksButton(parse(schemas.click, body)), 'click');
        return send(response, 200, { ok: true });
      case 'select':
        delivered(await emulator.userSelectsOption(parse(schemas.select, body)), 'choice');
        return send(response, 200, { ok: true });
      case 'shortcut':
        delivered(await emulator.userUsesMessageShortcut(parse(schemas.shortcut, body)), 'shortcut');
        return send(response, 200, { ok: true });
      case 'view/submit': {
        const input = parse(schemas.submit, body);
        delivered(await emulator.userSubmitsView({ user: input.user, viewId: input.viewId, values: input.values }), 'form');
        return send(response, 200, { ok: true, errors: emulator.viewErrors(input.viewId) ?? null });
      }
      case 'view/close': {
        const input = parse(schemas.close, body);
        await emulator.userClosesView(input);
        return send(response, 200, { ok: true });
      }
      case 'network/act': {
        const posts = network.act(parse(schemas.act, body));
        return send(response, 200, { ok: true, posts });
      }
      case 'digest': {
        await sendWeeklyDigest(parse(schemas.digest, body).user);
        return send(response, 200, { ok: true });
      }
      default:
        throw new RequestError(`No ${route} here.`, 404);
    }
  }

  /** Which (re)start of the sandbox each request ran on. */
  const startedOn = new WeakMap<IncomingMessage, number>();
  let origins: readonly string[] = [];
  /**
   * Only this machine's browser, on this page, may drive the sandbox: the Host must be the
   * loopback address (no DNS rebinding), and a POST must be JSON from no other origin (no other
   * web page's form or no-cors fetch).
   */
  function checkCaller(request: IncomingMessage): void {
    if (!origins.includes(`http://${request.headers.host ?? ''}`)) throw new RequestError('The sandbox answers on 127.0.0.1 only.', 403);
    if (request.method !== 'POST') return;
    if (!/^application\/json\b/.test(request.headers['content-type'] ?? '')) throw new RequestError('Send JSON (content-type: application/json).', 415);
    const origin = request.headers.origin;
    if (origin !== undefined && !origins.includes(origin)) throw new RequestError('Requests from other pages are refused.', 403);
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    checkCaller(request);
    const url = new URL(request.url ?? '/', 'http://sandbox');
    const path = url.pathname;
    if (path.startsWith('/sandbox/net/')) return network.handle(request, response);
    const page = pageFiles[path];
    if (page && request.method === 'GET') {
      const body = await readFile(new URL(page.file, pageDir));
      response.writeHead(200, { 'content-type': page.type, 'cache-control': 'no-store' });
      response.end(body);
      return;
    }
    const file = /^\/sandbox\/files\/(F\w+)$/.exec(path);
    if (file && request.method === 'GET') {
      const bytes = options.current().emulator.fileBytes(file[1]!);
      const meta = options.current().emulator.state.files.find((f) => f.id === file[1]);
      if (!bytes || !meta) throw new RequestError('No such file.', 404);
      response.writeHead(200, { 'content-type': meta.mimetype, 'cache-control': 'no-store' });
      response.end(bytes);
      return;
    }
    if (path.startsWith('/sandbox/api/')) return api(path.slice('/sandbox/api/'.length), request, response, url);
    throw new RequestError('Not found.', 404);
  }

  const server = createServer((request, response) => {
    startedOn.set(request, options.generation());
    route(request, response).catch((error: unknown) => {
      // A request cut by a reset (its Herald stopped under it) is the reset's doing, not a fault.
      const cut = options.generation() !== startedOn.get(request);
      const status =
        error instanceof RequestError || error instanceof NetworkInputError ? error.status : (error instanceof Error && ['SandboxBusy', 'SandboxDown'].includes(error.name)) || cut ? 503 : 500;
      const message = status === 500 ? 'Something went wrong in the sandbox; the log says what.' : cut ? 'The sandbox was reset while this ran; try again.' : errorMessage(error);
      log[status >= 500 ? 'error' : 'warn']({ path: request.url, method: request.method, status, err: errorMessage(error) }, 'sandbox request refused');
      if (!response.headersSent) send(response, status, { error: message });
      else response.end();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  // Live updates: one small event per change, coalesced to at most one per 50 ms.
  let pending: NodeJS.Timeout | undefined;
  const onChange = (change: unknown): void => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      for (const stream of streams) stream.write(`data: ${JSON.stringify(change ?? {})}\n\n`);
    }, 50);
  };
  events.on('change', onChange);
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': keep-alive\n\n');
  }, 15_000);

  const { port } = server.address() as AddressInfo;
  origins = [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      events.off('change', onChange);
      clearInterval(heartbeat);
      clearTimeout(pending);
      for (const stream of streams) stream.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
