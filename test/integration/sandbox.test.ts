import { request } from 'node:http';
import { MongoClient } from 'mongodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.ts';
import { createSlackEmulator } from '../../src/sandbox/slack-emulator/index.ts';
import { eventually } from '../support/herald.ts';
import { captureLogger } from '../support/log.ts';
import { startTestSandbox } from '../support/sandbox.ts';
import { createFakeOpenAI } from '../emulators/openai/server.ts';
import { testMongoUri, uniqueDbName } from '../support/mongo.ts';
import { spawnHerald, type HeraldProcess } from '../support/process.ts';

/**
 * The sandbox behind the page, through the page's own HTTP API: the set-up it does, the flows a
 * person tries there (the page's browser test drives the same through Chromium), refusals of bad
 * input, reset, and how `npm start` chooses it.
 */

interface State {
  messages: Record<string, { ts: string; user?: string; text: string; thread_ts?: string; files?: { id: string; name: string }[]; blocks?: { elements?: { action_id?: string }[] }[] }[]>;
  ephemerals: { ts: string; channel: string; text: string }[];
  views: { id: string; blocks: { block_id: string }[] }[];
  network: { account: { followers: number }; posts: { id: string; ours: boolean; text: string; inReplyTo?: string; likes: number }[] };
  assistant: { mode: string };
  channels: { id: string; isIm: boolean }[];
  commands: { command: string }[];
  shortcuts: { callbackId: string }[];
}

const actionIds = (message: State['messages'][string][number]): string[] => (message.blocks ?? []).flatMap((b) => (b.elements ?? []).map((e) => e.action_id ?? ''));

describe('the sandbox', () => {
  let sandbox: Sandbox;
  let stopSandbox: (() => Promise<void>) | undefined;
  const captured = captureLogger('warn');

  const api = async (path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(`${sandbox.url}/sandbox/api/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  const state = async (user = 'U_WRITER'): Promise<State> => (await api(`state?user=${user}`)).json as unknown as State;
  const ok = async (path: string, body: unknown): Promise<void> => {
    const answer = await api(path, body);
    expect(answer, JSON.stringify(answer.json)).toMatchObject({ status: 200 });
  };

  beforeAll(async () => {
    ({ sandbox, stop: stopSandbox } = await startTestSandbox(captured.log));
  }, 90_000);

  afterAll(async () => {
    await stopSandbox?.();
  });

  it('serves the page and a workspace already set up: channels, the connected account, no set-up chatter', async () => {
    const page = await fetch(`${sandbox.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(new URL(sandbox.url).hostname).toBe('127.0.0.1');
    const s = await state();
    expect(s.commands.map((c) => c.command)).toEqual(expect.arrayContaining(['/herald', '/draft']));
    expect(s.shortcuts.map((c) => c.callbackId)).toContain('draft-from-message');
    expect(s.assistant.mode).toBe('fallback');
    expect(s.ephemerals).toEqual([]);
    expect((await state('U_APPROVER')).ephemerals).toEqual([]);
    // The account is connected in Herald's store, in the sandbox's own database.
    const accounts = await sandbox.current().herald.stores.accounts.list('slack:T_SANDBOX');
    expect(accounts.map((a) => [a.network, a.handle, a.health])).toEqual([['sandbox', 'herald-demo.sandbox', 'ok']]);
    expect(sandbox.current().herald.config.MONGODB_DB).toMatch(/^sbx_\w+_sandbox$/);
  });

  it('a message becomes a draft with the shortcut; the writer cannot approve it, the approver can', async () => {
    await ok('message', { user: 'U_WRITER', channel: 'C_DRAFTS', text: 'Linen shirts & recycled denim <3 from Monday' });
    const idea = (await state()).messages.C_DRAFTS!.at(-1)!;
    expect(idea.text).toBe('Linen shirts &amp; recycled denim &lt;3 from Monday');
    await ok('shortcut', { user: 'U_WRITER', channel: 'C_DRAFTS', ts: idea.ts, callbackId: 'draft-from-message' });
    const card = await eventually(async () => (await state()).messages.C_APPROVALS!.find((m) => actionIds(m).some((id) => id.includes(':approve:'))), 15_000);
    const approve = actionIds(card).find((id) => id.includes(':approve:'))!;
    await ok('click', { user: 'U_WRITER', channel: 'C_APPROVALS', ts: card.ts, actionId: approve });
    const refusal = await eventually(async () => (await state()).ephemerals.find((e) => e.text.includes('not let authors approve their own drafts')), 10_000);
    expect(refusal.channel).toBe('C_APPROVALS');
    await ok('click', { user: 'U_APPROVER', channel: 'C_APPROVALS', ts: card.ts, actionId: approve });
    await eventually(async () => (await state()).messages.C_APPROVALS!.some((m) => m.text.includes('Approved by alex')), 10_000);
  });

  it('a published post gets a comment; the inbox card appears; a reply in its thread reaches the network; the digest comes with charts', async () => {
    // Publishing itself is the browser tour's (it waits the minute a schedule needs); here the
    // brand posts through the connector's API the way Herald's publishing job does.
    const published = await fetch(`${sandbox.network.apiUrl}/posts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sandbox.network.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ posts: ['Pop-up in Cluj this Sunday'], images: [], idempotencyKey: 'test-1' }),
    });
    const ours = ((await published.json()) as { posts: { remoteId: string }[] }).posts[0]!.remoteId;
    await ok('network/act', { kind: 'comment', as: 'p-ioana', postId: ours, text: 'Open on Sunday morning too?' });
    await ok('network/act', { kind: 'like', as: 'p-maya', postId: ours });
    await ok('network/act', { kind: 'follow', as: 'p-maya' });
    const card = await eventually(async () => (await state('U_RESPONDER')).messages.C_INBOX!.find((m) => m.text.includes('Open on Sunday morning too?')), 20_000);
    await ok('message', { user: 'U_RESPONDER', channel: 'C_INBOX', threadTs: card.ts, text: 'Yes, from 10:00.' });
    const reply = await eventually(async () => (await state()).network.posts.find((p) => p.ours && p.text === 'Yes, from 10:00.'), 20_000);
    const comment = (await state()).network.posts.find((p) => p.text === 'Open on Sunday morning too?')!;
    expect(reply.inReplyTo).toBe(comment.id);

    await ok('digest', { user: 'U_APPROVER' });
    const charts = await eventually(async () => {
      const digest = (await state()).messages.C_DIGEST!;
      const files = digest.flatMap((m) => m.files ?? []);
      return files.length >= 2 ? files : undefined;
    }, 20_000);
    const png = await fetch(`${sandbox.url}/sandbox/files/${charts[0]!.id}`);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await png.arrayBuffer()).subarray(1, 4).toString()).toBe('PNG');
  });

  it('a pile-on of negative mentions opens an incident in #crisis and pages the on-call person', async () => {
    await ok('network/act', { kind: 'pileon' });
    const incident = await eventually(async () => (await state('U_RESPONDER')).messages.C_CRISIS!.find((m) => m.text.includes('Incident')), 30_000);
    expect(incident.user).toBe('U_HERALD');
    await eventually(async () => (await state('U_RESPONDER')).channels.some((c) => c.isIm), 10_000);
  });

  it('refuses bad input with a message for the person and a log line, and stays up', async () => {
    const cases: [string, unknown, number, RegExp][] = [
      ['message', { user: 'U_NOBODY', channel: 'C_DRAFTS', text: 'hi' }, 400, /sandbox users/],
      ['message', { user: 'U_WRITER', channel: 'C_DRAFTS', text: '   ' }, 400, /Type a message/],
      ['message', { user: 'U_WRITER', channel: 'C_DRAFTS', text: '/giphy cats' }, 400, /no \/giphy command/],
      ['message', '{"user": "U_WRITER", "chan', 400, /not valid JSON/],
      ['message', { user: 'U_WRITER', channel: 'C_DRAFTS', text: 'x'.repeat(4_001) }, 400, /at most 4,000/],
      ['click', { user: 'U_WRITER', channel: 'C_DRAFTS', ts: 'yesterday', actionId: 'x' }, 400, /time stamp/],
      ['network/act', { kind: 'comment', as: 'p-nobody', postId: 'x', text: 'hi' }, 400, /No outside person/],
      ['network/act', { kind: 'like', as: 'p-maya', postId: 'gone' }, 404, /No post/],
      ['network/act', { kind: 'explode' }, 400, /kind/],
    ];
    for (const [path, body, status, message] of cases) {
      const answer = await api(path, body);
      expect(answer.status, path).toBe(status);
      expect(String(answer.json.error)).toMatch(message);
    }
    expect(captured.lines().filter((l) => l.msg === 'sandbox request refused').length).toBeGreaterThanOrEqual(cases.length);
    expect((await fetch(`${sandbox.url}/sandbox/api/state?user=U_WRITER`)).status).toBe(200);
    // Only this machine's browser on this page: another page's no-cors form post, a rebound host name.
    const foreign = await fetch(`${sandbox.url}/sandbox/api/reset`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(foreign.status).toBe(415);
    const otherPage = await fetch(`${sandbox.url}/sandbox/api/reset`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example' }, body: '{}' });
    expect(otherPage.status).toBe(403);
    const rebound = await new Promise<number>((resolve, reject) => {
      const { port } = new URL(sandbox.url);
      request({ host: '127.0.0.1', port, path: '/sandbox/api/state?user=U_WRITER', headers: { host: `evil.example:${port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(rebound).toBe(403);
    expect((await state()).network.posts.length).toBeGreaterThan(0); // nothing was reset
    // The network's own API refuses a missing token as a network would.
    expect((await fetch(`${sandbox.network.apiUrl}/me`)).status).toBe(401);
  });

  it('reset wipes the chat, the network and the database, and sets the workspace up again', async () => {
    expect((await state()).network.posts.length).toBeGreaterThan(0);
    await ok('reset', {});
    const s = await state();
    expect(Object.values(s.messages).flat()).toEqual([]);
    expect(s.network.posts).toEqual([]);
    const herald = sandbox.current().herald;
    expect(await herald.mongo.db.collection('drafts').countDocuments()).toBe(0);
    expect(await herald.stores.accounts.list('slack:T_SANDBOX')).toHaveLength(1);
    // Still working after the reset.
    await ok('message', { user: 'U_WRITER', channel: 'C_DRAFTS', text: 'After the reset' });
    expect((await state()).messages.C_DRAFTS!.map((m) => m.text)).toEqual(['After the reset']);
  }, 60_000);
});

describe('the sandbox with a model configured', () => {
  it('uses it, and the page is told so', async () => {
    const openai = await createFakeOpenAI(() => 'ok');
    const { sandbox, stop } = await startTestSandbox(captureLogger('warn').log, { OPENAI_BASE_URL: openai.baseUrl, OPENAI_API_KEY: 'sk-test', OPENAI_MODEL: 'gpt-test-mini' });
    try {
      const state = (await (await fetch(`${sandbox.url}/sandbox/api/state?user=U_WRITER`)).json()) as { assistant: unknown };
      expect(state.assistant).toEqual({ mode: 'model', model: 'gpt-test-mini' });
    } finally {
      await stop();
      await openai.close();
    }
  }, 90_000);
});

describe('npm start chooses the sandbox', () => {
  const running: HeraldProcess[] = [];
  const databases: string[] = [];
  afterEach(async () => {
    for (const p of running.splice(0)) {
      if (p.child.exitCode === null) {
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
    const client = await MongoClient.connect(testMongoUri());
    for (const name of databases.splice(0)) for (const db of [name, `${name}_sandbox`]) await client.db(db).dropDatabase();
    await client.close();
  });
  const start = (env: Record<string, string>, args: string[] = []): HeraldProcess => {
    const name = uniqueDbName('sbxp');
    databases.push(name);
    const p = spawnHerald(
      { MONGODB_URI: testMongoUri(), MONGODB_DB: name, HTTP_PORT: '0', SANDBOX_PORT: '0', HERALD_SANDBOX: 'auto', ...env },
      ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', 'src/main.ts', ...args],
    );
    running.push(p);
    return p;
  };
  const sandboxUrl = async (p: HeraldProcess): Promise<string> =>
    eventually(() => {
      if (p.child.exitCode !== null) throw new Error(`exited: ${p.stderr()}`);
      return /^Herald sandbox: open (http:\/\/127\.0\.0\.1:\d+)\/ /m.exec(p.stdout())?.[1];
    }, 60_000);

  it('without chat credentials: one line with the URL, the page answers, SIGTERM stops it', async () => {
    const p = start({});
    const url = await sandboxUrl(p);
    // Only warnings and worse are logged in the sandbox: the URL line is what a person reads.
    expect(p.stdout().split('\n').filter((l) => l.trim() && !l.includes('"level":40')).length).toBe(1);
    expect((await fetch(`${url}/`)).status).toBe(200);
    p.child.kill('SIGTERM');
    expect((await p.exited).code).toBe(0);
  }, 90_000);

  it('HERALD_SANDBOX=off, or NODE_ENV=production, starts Herald without chat instead, and says so', async () => {
    for (const env of [{ HERALD_SANDBOX: 'off' }, { NODE_ENV: 'production' }] as Record<string, string>[]) {
      const p = start({ ...env, LOG_LEVEL: 'info' });
      await p.waitForLine((l) => l.msg === 'herald started', 30_000);
      expect(p.stdout()).not.toContain('Herald sandbox');
      expect(p.lines().some((l) => String(l.msg).startsWith('no Slack or Discord credentials'))).toBe(true);
      p.child.kill('SIGTERM');
      expect((await p.exited).code).toBe(0);
    }
  }, 90_000);

  it('with chat credentials it never starts; --sandbox forces it', async () => {
    const emulator = await createSlackEmulator();
    try {
      const env = { SLACK_BOT_TOKEN: emulator.botToken, SLACK_APP_TOKEN: emulator.appToken, SLACK_API_URL: emulator.apiUrl, LOG_LEVEL: 'info' };
      const plain = start(env);
      await plain.waitForLine((l) => l.msg === 'herald started', 30_000);
      expect(plain.stdout()).not.toContain('Herald sandbox');
      const forced = start(env, ['--sandbox']);
      expect((await fetch(`${await sandboxUrl(forced)}/sandbox/api/state?user=U_WRITER`)).status).toBe(200);
      // The forced sandbox talks to its own emulator, never to the configured workspace: every call
      // this emulator answered came from the plain Herald (it connected once).
      const callsOfPlain = emulator.apiCalls.length;
      expect(emulator.apiCalls.filter((c) => c.method === 'apps.connections.open')).toHaveLength(1);
      plain.child.kill('SIGTERM');
      await plain.exited;
      await fetch(`${await sandboxUrl(forced)}/sandbox/api/state?user=U_WRITER`);
      expect(emulator.apiCalls.length).toBe(callsOfPlain);
    } finally {
      await emulator.close();
    }
  }, 90_000);
});
