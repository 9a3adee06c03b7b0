import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * The lint rule that keeps SDKs in their adapter folders: proven on sample files so that a change
 * to eslint.config.js that loosens it fails here.
 */
const eslint = new ESLint({
  overrideConfig: {
    languageOptions: { parserOptions: { projectService: false, project: null } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-misused-promises': 'off',
    },
  },
});

async function restrictedImportErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('SDK import boundaries', () => {
  const cases: [sdk: string, home: string, outside: string][] = [
    ['@slack/bolt', 'src/chat/slack/adapter.ts', 'flows/approval.ts'],
    ['discord.js', 'src/chat/discord/adapter.ts', 'commands/ping.ts'],
    ['openai', 'src/ai/assistant.ts', 'src/chat/slack/render.ts'],
    ['@atproto/api', 'src/networks/bluesky/client.ts', 'src/networks/mastodon/client.ts'],
    ['masto', 'src/networks/mastodon/client.ts', 'src/store/accounts.ts'],
  ];

  for (const [sdk, home, outside] of cases) {
    it(`${sdk} is refused in ${outside} and allowed in ${home}`, async () => {
      const code = `import * as sdk from '${sdk}';\nexport const x = sdk;\n`;
      const refused = await restrictedImportErrors(outside, code);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toContain(sdk);
      expect(await restrictedImportErrors(home, code)).toEqual([]);
    });
  }

  it('also refuses deep imports of an SDK outside its folder', async () => {
    const refused = await restrictedImportErrors('flows/digest.ts', "import x from '@slack/bolt/dist/App';\nexport const y = x;\n");
    expect(refused).toHaveLength(1);
  });

  it('lets the Slack folder import nothing of Discord', async () => {
    expect(await restrictedImportErrors('src/chat/slack/adapter.ts', "import * as d from 'discord.js';\nexport const y = d;\n")).toHaveLength(1);
  });
});
