import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { decodeActionId, encodeActionId } from '../../src/chat/action-id.ts';
import { parseRef, serializeRef, type ConversationRef } from '../../src/chat/port.ts';
import { createCommandRegistry, defineCommand, everyone, inGroup, parseText } from '../../src/chat/registry.ts';
import { catalogue, locales, resolveLocale, translator } from '../../src/i18n/catalogue.ts';
import { allCommands } from '../../commands/index.ts';

describe('action ids', () => {
  it('round-trip flow, action and entity id', () => {
    const encoded = encodeActionId({ flow: 'approval', action: 'approve', entityId: '665f1c2e9b1e8a0012345678' });
    expect(encoded).toBe('approval:approve:665f1c2e9b1e8a0012345678');
    expect(decodeActionId(encoded)).toEqual({ flow: 'approval', action: 'approve', entityId: '665f1c2e9b1e8a0012345678' });
  });

  it('keep colons inside the entity id', () => {
    expect(decodeActionId('inbox:reply:bluesky:at://did:plc:x/app.bsky.feed.post/3k')).toEqual({ flow: 'inbox', action: 'reply', entityId: 'bluesky:at://did:plc:x/app.bsky.feed.post/3k' });
  });

  it('never exceed Discord’s 100-character custom_id', () => {
    expect(() => encodeActionId({ flow: 'approval', action: 'approve', entityId: 'x'.repeat(90) })).toThrow(/longer than 100/);
    expect(decodeActionId(`a:b:${'x'.repeat(100)}`)).toBeUndefined();
  });

  it('reject what Herald did not make', () => {
    for (const bad of ['', 'approve', 'a:b', 'a:b:', ':b:c', 'A:b:c', 'a:b:c d', 'a::c']) expect(decodeActionId(bad)).toBeUndefined();
    expect(() => encodeActionId({ flow: 'Approval', action: 'x', entityId: '1' })).toThrow();
    expect(() => encodeActionId({ flow: 'a', action: 'x', entityId: '' })).toThrow();
  });
});

describe('conversation refs', () => {
  it('serialise to a string and back', () => {
    const refs: ConversationRef[] = [
      { platform: 'slack', workspace: 'T1', channel: 'C1', message: '1700000000.000100', thread: '1700000000.000050' },
      { platform: 'discord', workspace: '123', channel: '456' },
      { platform: 'discord', workspace: '@me', channel: '789', message: '790' },
    ];
    for (const ref of refs) expect(parseRef(serializeRef(ref))).toEqual(ref);
  });

  it('refuse malformed strings', () => {
    for (const bad of ['', 'slack:T1:C1', 'teams:T:C::', 'slack::C1::', 'slack:T1:C1:a:b:c', 'slack:T 1:C1::']) expect(parseRef(bad)).toBeUndefined();
  });
});

describe('command registry', () => {
  const draft = defineCommand({
    name: 'compose',
    description: 'Draft a post',
    options: z.object({
      text: z.string().min(1).describe('What to post'),
      networks: z.string().optional().describe('Networks, comma separated'),
      tone: z.enum(['formal', 'casual']).optional().describe('Tone'),
    }),
    permission: everyone,
    run: async () => undefined,
  });

  it('declares commands once for every platform, with required flags and choices', () => {
    const registry = createCommandRegistry([...allCommands, draft]);
    const declared = registry.declarations().find((d) => d.name === 'compose');
    expect(declared?.options).toEqual([
      { name: 'text', description: 'What to post', required: true },
      { name: 'networks', description: 'Networks, comma separated', required: false },
      { name: 'tone', description: 'Tone', required: false, choices: ['formal', 'casual'] },
    ]);
    expect(registry.declarations().map((d) => d.name)).toEqual([...allCommands.map((c) => c.name), 'compose']);
    expect(registry.declarations().find((d) => d.name === 'draft new')?.options[0]).toEqual({ name: 'text', description: 'The post text', required: true });
  });

  it('refuses bad definitions at load', () => {
    const base = { description: 'x', options: z.object({}), permission: everyone, run: async () => undefined };
    expect(() => createCommandRegistry([{ ...base, name: 'Herald' }])).toThrow(/lowercase/);
    expect(() => createCommandRegistry([{ ...base, name: 'a b c' }])).toThrow(/one or two/);
    expect(() => createCommandRegistry([{ ...base, name: 'ping' }, { ...base, name: 'ping' }])).toThrow(/twice/);
    expect(() => createCommandRegistry([{ ...base, name: 'herald' }, { ...base, name: 'herald ping' }])).toThrow(/both a command and a group/);
    expect(() => createCommandRegistry([{ ...base, name: 'x', options: z.object({ when: z.string() }) }])).toThrow(/needs a description/);
    expect(() => createCommandRegistry([{ ...base, name: 'x', description: '' }])).toThrow(/description/);
  });

  it('grants by group case-insensitively, and admins everything', () => {
    const registry = createCommandRegistry([]);
    const command = { ...draft, permission: inGroup('Approvers') };
    expect(registry.mayRun(command, { isAdmin: false, groups: ['S1', 'approvers'] })).toBe(true);
    expect(registry.mayRun(command, { isAdmin: false, groups: ['writers'] })).toBe(false);
    expect(registry.mayRun(command, { isAdmin: true, groups: [] })).toBe(true);
  });

  it('parses Slack text: known key:value options, quoted values, the rest as free text with its line breaks', () => {
    expect(parseText('networks:bluesky,x when:"2026-12-01 10:00" Hello world', ['networks', 'when', 'text'])).toEqual({ networks: 'bluesky,x', when: '2026-12-01 10:00', text: 'Hello world' });
    expect(parseText('Read https://example.com/a:b today\nsecond line', ['networks'])).toEqual({ text: 'Read https://example.com/a:b today\nsecond line' });
    expect(parseText('', ['text'])).toEqual({});
  });
});

describe('message catalogue', () => {
  it('has every key in English, French and Romanian with the same placeholders', () => {
    const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort();
    for (const key of Object.keys(catalogue.en) as (keyof typeof catalogue.en)[]) {
      for (const locale of locales) {
        expect(catalogue[locale][key], `${locale} ${key}`).toBeTruthy();
        expect(placeholders(catalogue[locale][key]), `${locale} ${key}`).toEqual(placeholders(catalogue.en[key]));
      }
    }
  });

  it('resolves platform locales and fills placeholders', () => {
    expect(resolveLocale('fr-FR')).toBe('fr');
    expect(resolveLocale('ro')).toBe('ro');
    expect(resolveLocale('de-DE')).toBe('en');
    expect(resolveLocale(undefined)).toBe('en');
    expect(translator('fr')('ping.pong', { platform: 'Slack' })).toBe('Pong ! Herald fonctionne sur Slack.');
  });
});
