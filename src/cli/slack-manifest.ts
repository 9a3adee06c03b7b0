import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { allCommands, allShortcuts } from '../../commands/index.ts';
import { createCommandRegistry } from '../chat/registry.ts';
import { buildSlackManifest } from '../chat/slack/manifest.ts';

/**
 * `npm run slack:manifest`: writes the Slack app manifest from the command definitions, for
 * "Create New App → From an app manifest". `--http https://herald.example.com` writes one for HTTP
 * mode (request URLs instead of Socket Mode).
 */
const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'slack-manifest.json' },
    http: { type: 'string' },
    name: { type: 'string', default: 'Herald' },
  },
});

const registry = createCommandRegistry(allCommands);
const manifest = buildSlackManifest({
  commands: registry.declarations(),
  shortcuts: allShortcuts,
  appName: values.name,
  socketMode: !values.http,
  ...(values.http ? { requestUrl: `${values.http.replace(/\/$/, '')}/slack/events` } : {}),
});
await writeFile(values.out, `${JSON.stringify(manifest, null, 2)}\n`);
process.stdout.write(`Wrote ${values.out} (${values.http ? 'HTTP mode' : 'Socket Mode'}). Paste it at https://api.slack.com/apps → Create New App → From an app manifest.\n`);
