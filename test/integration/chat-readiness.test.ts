import { afterEach, describe, expect, it } from 'vitest';
import type { Herald } from '../../src/app.ts';
import { createDiscordEmulator } from '../emulators/discord/index.ts';
import { createSlackEmulator } from '../../src/sandbox/slack-emulator/index.ts';
import { eventually, startTestHerald } from '../support/herald.ts';
import { uniqueDbName } from '../support/mongo.ts';

async function readiness(herald: Herald): Promise<{ status: number; checks: { name: string; ok: boolean; error?: string }[] }> {
  const response = await fetch(`${herald.http.url}/readyz`);
  const body = (await response.json()) as { checks: { name: string; ok: boolean; error?: string }[] };
  return { status: response.status, checks: body.checks };
}

/** A platform that is down when Herald starts: Herald starts anyway, says so, and connects later. */
describe('chat platform outage at start-up', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('Slack: readiness is 503 naming chat:slack while auth fails, then 200', async () => {
    const emulator = await createSlackEmulator();
    cleanups.push(() => emulator.close());
    emulator.failNext('auth.test', { status: 503, times: 2 });
    const herald = await startTestHerald({ dbName: uniqueDbName('ready_slack'), env: { SLACK_BOT_TOKEN: emulator.botToken, SLACK_APP_TOKEN: emulator.appToken, SLACK_API_URL: emulator.apiUrl } });
    cleanups.push(() => herald.stop());
    const down = await readiness(herald);
    expect(down.status).toBe(503);
    expect(down.checks.find((c) => c.name === 'chat:slack')).toMatchObject({ ok: false, error: 'not connected' });
    await eventually(async () => (await readiness(herald)).status === 200, 15_000, 100);
    expect(emulator.failedCount('auth.test')).toBe(2);
  });

  it('Discord: readiness is 503 naming chat:discord while the gateway is down, then 200', async () => {
    const emulator = await createDiscordEmulator();
    cleanups.push(() => emulator.close());
    emulator.setGatewayAvailable(false);
    const herald = await startTestHerald({ dbName: uniqueDbName('ready_discord'), env: { DISCORD_TOKEN: emulator.botToken, DISCORD_API_URL: emulator.apiUrl, DISCORD_GUILD_ID: emulator.ids.guildId } });
    cleanups.push(() => herald.stop());
    await new Promise((r) => setTimeout(r, 500));
    const down = await readiness(herald);
    expect(down.status).toBe(503);
    expect(down.checks.find((c) => c.name === 'chat:discord')?.ok).toBe(false);
    emulator.setGatewayAvailable(true);
    await eventually(async () => (await readiness(herald)).status === 200, 20_000, 100);
  });
});
