import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { MongoClient } from 'mongodb';
import { startHerald, type Herald } from '../app.ts';
import type { Command } from '../chat/registry.ts';
import type { Config } from '../config.ts';
import type { Flow } from '../flow.ts';
import type { Logger } from '../log.ts';
import { enableConnector, sandboxConnector } from '../networks/index.ts';
import { SimulatedNetwork } from './network.ts';
import { startSandboxServer, type SandboxServer } from './server.ts';
import { createSlackEmulator, type Obj, type SlackEmulator } from './slack-emulator/index.ts';
import { SANDBOX_TEAM, sandboxChannels, sandboxUsers } from './users.ts';

/**
 * The sandbox: `npm start` without chat credentials. One process on loopback runs the Slack
 * emulator, the simulated network, a whole Herald against both (its own database, wiped at start
 * and on reset), and the page where a person uses Herald as in Slack (src/sandbox/server.ts).
 */

const ADMIN = 'U_APPROVER';

export interface SandboxOptions {
  /** The configuration Herald was started with; chat credentials in it are ignored. */
  config: Config;
  log: Logger;
  mongoUri: string;
  flows: readonly Flow[];
  commands: readonly Command[];
  /** The page's port (0: a free one). */
  port: number;
}

/** What runs between two resets. */
export interface SandboxRun {
  readonly herald: Herald;
  readonly emulator: SlackEmulator;
}

export interface Sandbox {
  readonly url: string;
  readonly network: SimulatedNetwork;
  /** 'change' for every change of the chat or the network (the page's live updates). */
  readonly events: EventEmitter;
  current(): SandboxRun;
  /** Everything back to a fresh workspace: database, chat, network. */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions): Promise<Sandbox> {
  const { log } = options;
  const events = new EventEmitter();
  events.setMaxListeners(100);
  // Only this process offers the simulated network in the accounts form.
  enableConnector(sandboxConnector);
  // Its own database, wiped at every start: never a name that could be another's.
  const dbName = `${options.config.MONGODB_DB}_sandbox`;
  if (dbName.length > 63) throw new Error(`MONGODB_DB is too long for the sandbox's database name ${dbName} (at most 55 characters).`);
  const network = new SimulatedNetwork({ token: `sandbox-${randomBytes(12).toString('hex')}` });
  network.events.on('change', (change: unknown) => events.emit('change', change));

  let run: SandboxRun | undefined;
  let resetting: Promise<void> | undefined;
  let server: SandboxServer | undefined;
  let generation = 0;
  let stopping = false;
  /** Why the last (re)start failed; the page shows it until a reset succeeds. */
  let failure: Error | undefined;

  const boot = async (): Promise<SandboxRun> => {
    generation += 1;
    await wipe(options.mongoUri, dbName);
    network.reset();
    const emulator = await createSlackEmulator({ teamId: SANDBOX_TEAM, people: 'none' });
    seedWorkspace(emulator);
    emulator.events.on('change', (change: unknown) => events.emit('change', change));
    const config = sandboxConfig(options.config, emulator, dbName);
    const herald = await startHerald({ config, log, mongoUri: options.mongoUri, flows: options.flows, commands: options.commands }).catch(async (error: unknown) => {
      await emulator.close();
      throw error;
    });
    try {
      await setUpWorkspace(emulator, network, herald);
    } catch (error) {
      await herald.stop();
      await emulator.close();
      throw error;
    }
    events.emit('change', { kind: 'sandbox.ready' });
    return { herald, emulator };
  };

  const halt = async (): Promise<void> => {
    const old = run;
    run = undefined;
    if (!old) return;
    await old.herald.stop();
    await old.emulator.close();
  };

  const reset = (): Promise<void> => {
    if (stopping) return Promise.reject(new SandboxBusy());
    resetting ??= (async () => {
      log.info('sandbox reset: wiping the database, the chat and the network');
      await halt();
      try {
        run = await boot();
        failure = undefined;
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
        log.error({ err: failure }, 'sandbox reset failed; Reset tries again');
        throw new SandboxDown(failure);
      }
    })().finally(() => (resetting = undefined));
    return resetting;
  };
  const current = (): SandboxRun => {
    if (run) return run;
    throw failure && !resetting ? new SandboxDown(failure) : new SandboxBusy();
  };

  server = await startSandboxServer({
    port: options.port,
    log: log.child({ component: 'sandbox' }),
    network,
    events,
    current,
    generation: () => generation,
    settled: () => resetting?.catch(() => undefined) ?? Promise.resolve(),
    commands: options.commands,
    reset,
  });
  network.setBaseUrl(server.url);
  try {
    run = await boot();
  } catch (error) {
    await server.close();
    throw error;
  }

  return {
    url: server.url,
    network,
    events,
    current,
    reset,
    async stop() {
      stopping = true;
      await server?.close();
      server = undefined;
      await resetting?.catch(() => undefined);
      await halt();
    },
  };
}

/** Raised when the sandbox could not start again: the page shows why, and Reset tries again. */
export class SandboxDown extends Error {
  constructor(cause: Error) {
    super(`The sandbox could not start: ${cause.message}. Press Reset sandbox to try again.`, { cause });
    this.name = 'SandboxDown';
  }
}

/** Raised while the sandbox restarts (reset); the page says so and retries. */
export class SandboxBusy extends Error {
  constructor() {
    super('The sandbox is restarting; try again in a moment.');
    this.name = 'SandboxBusy';
  }
}

async function wipe(uri: string, dbName: string): Promise<void> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    await client.connect();
    await client.db(dbName).dropDatabase();
  } finally {
    await client.close();
  }
}

function seedWorkspace(emulator: SlackEmulator): void {
  for (const user of sandboxUsers) emulator.addUser({ id: user.id, name: user.name, realName: user.realName, isAdmin: user.isAdmin });
  const members = sandboxUsers.map((u) => u.id);
  for (const channel of sandboxChannels) {
    const added = emulator.addChannel({ id: channel.id, name: channel.name, members });
    added.purpose.value = channel.purpose;
  }
  emulator.addUserGroup({ id: 'S_APPROVERS', handle: 'approvers', name: 'Approvers', users: ['U_WRITER', 'U_APPROVER'] });
}

/** Herald's configuration in the sandbox: the emulator's credentials, its own database, quick polls. */
function sandboxConfig(base: Config, emulator: SlackEmulator, dbName: string): Config {
  const { SLACK_SIGNING_SECRET: _secret, DISCORD_TOKEN: _discord, DISCORD_API_URL: _discordUrl, DISCORD_GUILD_ID: _guild, ...rest } = base;
  return {
    ...rest,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: 0,
    MONGODB_DB: dbName,
    SLACK_BOT_TOKEN: emulator.botToken,
    SLACK_APP_TOKEN: emulator.appToken,
    SLACK_API_URL: emulator.apiUrl,
    // The database is wiped at every start, so a key of this run only is enough.
    HERALD_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    SCHEDULER_POLL_MS: Math.min(base.SCHEDULER_POLL_MS, 500),
    INBOX_POLL_SECONDS: Math.min(base.INBOX_POLL_SECONDS, 2),
    INBOX_STREAMING: 'off',
    CHAT_MESSAGES_PER_SECOND: 10,
    PUBLISH_RETRY_BASE_MS: Math.min(base.PUBLISH_RETRY_BASE_MS, 2_000),
  };
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every button of a message's or an ephemeral's blocks. */
function buttonsOf(blocks: readonly Obj[] | undefined): Obj[] {
  return (blocks ?? []).flatMap((b) => [...(Array.isArray(b.elements) ? b.elements : []), ...(isObj(b.accessory) ? [b.accessory] : [])]).filter(isObj);
}

/**
 * The workspace a team would set up, done the way a team does it: the admin runs Herald's commands
 * and connects the account in the private form. Each step waits for Herald's answer.
 */
async function setUpWorkspace(emulator: SlackEmulator, network: SimulatedNetwork, herald: Herald): Promise<void> {
  await emulator.waitFor(() => herald.chat.all().every((a) => a.isReady()), 30_000);
  const answered = async (channel: string, text: string): Promise<void> => {
    const before = emulator.ephemeralsFor(ADMIN).length;
    const result = await emulator.userRunsCommand({ user: ADMIN, channel, command: '/herald', text });
    if (!result.acked) throw new Error(`sandbox set-up: Herald did not answer /herald ${text}`);
    await emulator.waitFor(() => emulator.ephemeralsFor(ADMIN).length > before, 15_000);
  };
  await answered('C_APPROVALS', 'settings approvals:here networks:sandbox');
  await answered('C_APPROVALS', 'policy approvers:<!subteam^S_APPROVERS|@approvers> required:any self:forbidden');
  await answered('C_APPROVALS', 'accounts');
  const list = emulator.ephemeralsFor(ADMIN).at(-1);
  const connect = buttonsOf(list?.blocks).find((b) => String(b.action_id).includes(':connect:sandbox'));
  if (!list || !connect) throw new Error('sandbox set-up: the accounts list offers no Sandbox network');
  await emulator.userClicksButton({ user: ADMIN, channel: 'C_APPROVALS', ts: list.ts, actionId: String(connect.action_id) });
  const view = await emulator.waitFor(() => emulator.openViews(ADMIN).at(-1), 15_000);
  const before = emulator.ephemeralsFor(ADMIN).length;
  await emulator.userSubmitsView({ user: ADMIN, viewId: view.id, values: { service: { service: network.apiUrl }, token: { token: network.token } } });
  await emulator.waitFor(() => emulator.ephemeralsFor(ADMIN).length > before, 15_000);
  if (emulator.openViews(ADMIN).length > 0) throw new Error(`sandbox set-up: connecting the account failed: ${JSON.stringify(emulator.openViews(ADMIN).at(-1)?.errors)}`);
  await answered('C_INBOX', `inbox-rules action:add channel:here account:${network.brand.handle}`);
  await answered('C_CRISIS', 'crisis action:channel');
  await answered('C_CRISIS', 'oncall people:<@U_RESPONDER|remi>,<@U_APPROVER|alex> ack:10');
  await answered('C_DIGEST', 'digest channel:here');
  await answered('C_DRAFTS', 'settings watch:here reaction:memo');
  // The admin's set-up answers are not part of anyone's demo.
  for (const ephemeral of emulator.state.ephemerals) ephemeral.deleted = true;
}
