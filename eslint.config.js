import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * SDKs stay in their adapter folders (DESIGN.md, rule 1): a flow never knows which platform or
 * network it talks to, so swapping or adding one touches one folder.
 */
const sdkBoundaries = [
  { name: '@slack/bolt', home: 'src/chat/slack/' },
  { name: '@slack/web-api', home: 'src/chat/slack/' },
  { name: '@slack/socket-mode', home: 'src/chat/slack/' },
  { name: 'discord.js', home: 'src/chat/discord/' },
  { name: '@discordjs/rest', home: 'src/chat/discord/' },
  { name: 'openai', home: 'src/ai/' },
  { name: '@atproto/api', home: 'src/networks/bluesky/' },
  { name: 'masto', home: 'src/networks/mastodon/' },
];

const restrictedPaths = sdkBoundaries.map(({ name, home }) => ({
  name,
  message: `${name} may only be imported inside ${home} (see docs/architecture.md).`,
}));
const restrictedPatterns = sdkBoundaries.map(({ name, home }) => ({
  group: [`${name}/*`],
  message: `${name} may only be imported inside ${home}.`,
}));

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/**/*.ts', 'commands/**/*.ts', 'flows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: restrictedPaths, patterns: restrictedPatterns }],
    },
  },
  // Each adapter folder may import its own SDK (and only its own).
  ...sdkBoundaries.map(({ home }) => ({
    files: [`${home}**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: restrictedPaths.filter((p) => !sdkBoundaries.some((b) => b.home === home && b.name === p.name)),
          patterns: restrictedPatterns.filter((p) => !sdkBoundaries.some((b) => b.home === home && p.group[0] === `${b.name}/*`)),
        },
      ],
    },
  })),
  // The sandbox page: a plain browser module, served as is.
  {
    files: ['src/sandbox/page/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window', 'document', 'navigator', 'location', 'history', 'localStorage', 'sessionStorage', 'fetch', 'EventSource', 'URL',
          'URLSearchParams', 'FormData', 'Headers', 'CSS', 'Intl', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval',
          'requestAnimationFrame', 'cancelAnimationFrame', 'queueMicrotask', 'getComputedStyle', 'matchMedia', 'HTMLElement',
          'HTMLInputElement', 'HTMLTextAreaElement', 'HTMLSelectElement', 'HTMLButtonElement', 'Element', 'Node', 'Event',
          'KeyboardEvent', 'MouseEvent', 'CustomEvent', 'MutationObserver', 'DocumentFragment', 'AbortController', 'structuredClone',
        ].map((name) => [name, 'readonly']),
      ),
    },
    rules: { 'no-console': 'error' },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
