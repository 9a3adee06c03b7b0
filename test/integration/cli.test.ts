import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createDiscordEmulator } from '../emulators/discord/index.ts';

const run = promisify(execFile);
const node = (script: string, args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['--experimental-strip-types', '--disable-warning=ExperimentalWarning', script, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });

describe('set-up commands', () => {
  it('npm run slack:manifest writes a manifest with every command, the shortcut, scopes and events', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'herald-manifest-'));
    try {
      const out = path.join(dir, 'manifest.json');
      const { stdout } = await node('src/cli/slack-manifest.ts', ['--out', out]);
      expect(stdout).toContain('Socket Mode');
      const manifest = JSON.parse(await readFile(out, 'utf8'));
      expect(manifest.features.slash_commands.map((c: { command: string }) => c.command)).toEqual(['/herald', '/draft']);
      expect(manifest.features.slash_commands[0].usage_hint).toContain('ping');
      expect(manifest.features.shortcuts).toEqual([expect.objectContaining({ type: 'message', callback_id: 'draft-from-message' })]);
      expect(manifest.settings.socket_mode_enabled).toBe(true);
      const http = path.join(dir, 'http.json');
      await node('src/cli/slack-manifest.ts', ['--out', http, '--http', 'https://herald.example.com']);
      const httpManifest = JSON.parse(await readFile(http, 'utf8'));
      expect(httpManifest.settings.socket_mode_enabled).toBe(false);
      expect(JSON.stringify(httpManifest)).toContain('https://herald.example.com/slack/events');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('npm run discord:register registers the slash commands and the context-menu command in the guild', async () => {
    const emulator = await createDiscordEmulator();
    try {
      const { stdout } = await node('src/cli/discord-register.ts', [], { DISCORD_TOKEN: emulator.botToken, DISCORD_API_URL: emulator.apiUrl, DISCORD_GUILD_ID: emulator.ids.guildId, LOG_LEVEL: 'warn' });
      expect(stdout).toContain(`in guild ${emulator.ids.guildId}`);
      const registered = JSON.stringify(emulator.state.commands);
      expect(registered).toContain('"herald"');
      expect(registered).toContain('"draft"');
      expect(registered).toContain('Draft a post from this');
    } finally {
      await emulator.close();
    }
  });

  it('discord:register without a token says what to set', async () => {
    const error = await node('src/cli/discord-register.ts', []).catch((e: { code: number; stderr: string }) => e);
    expect(error).toMatchObject({ code: 2 });
    expect((error as { stderr: string }).stderr).toContain('DISCORD_TOKEN is not set');
  });
});
