import { describe, expect, it } from 'vitest';
import { cleanEvent } from '../../src/chat/dispatcher.ts';
import { renderMessage as renderDiscord } from '../../src/chat/discord/render.ts';
import { mention, mentionedUsers, stripMentionMarks } from '../../src/chat/model.ts';
import type { InboundEvent, Responder } from '../../src/chat/port.ts';
import { renderMessage as renderSlack } from '../../src/chat/slack/render.ts';

/** Only Herald's own mention() may notify anyone; text from outside that looks like a mention stays text. */
const forged = (id: string): string => `\uE000${id}\uE001`;

describe('mentions Herald makes, and mentions that arrive in outside text', () => {
  it('a mention mark carries a platform user id; anything else becomes plain "@text"', () => {
    expect(mentionedUsers(`Paged ${mention('U123')} and ${mention('998877665544')}, then ${mention('U123')}`)).toEqual(['U123', '998877665544']);
    expect(mention('x>y')).toBe('@x>y');
    expect(mentionedUsers(mention('not an id'))).toEqual([]);
    expect(stripMentionMarks(`a ${forged('U1')} b`)).toBe('a U1 b');
  });

  it('Slack: marks become <@U…> entities while every other < > & stays escaped, in text, body, fields and context', () => {
    const text = `${mention('U_BOB')} your reply was not sent <@U_ALICE> <!channel>`;
    const out = renderSlack({ text, card: { title: 'T', body: `owner ${mention('U_BOB')} <@U_EVE>`, fields: [{ label: 'Status', value: `owned by ${mention('U_BOB')}` }], context: `by ${mention('U_CAROL')}` } });
    expect(out.text).toBe('<@U_BOB> your reply was not sent &lt;@U_ALICE&gt; &lt;!channel&gt;');
    const json = JSON.stringify(out.blocks);
    expect(json).toContain('owner <@U_BOB> &lt;@U_EVE&gt;');
    expect(json).toContain('owned by <@U_BOB>');
    expect(json).toContain('by <@U_CAROL>');
    expect(json).not.toMatch(/[\uE000\uE001]/);
  });

  it('Slack: a button label (plain text, where Slack shows no mentions) gets "@id", and a mark a cut left unpaired is dropped', () => {
    const out = renderSlack({ text: 'x', card: { title: 'T', actions: [{ kind: 'button', actionId: 'a:b:c', label: `Ask ${mention('U_BOB')}` }] } });
    expect(JSON.stringify(out.blocks)).toContain('Ask @U_BOB');
    expect(renderSlack({ text: `cut \uE000U_BO` }).text).toBe('cut U_BO');
  });

  it('Discord: only the marked users may be pinged: not <@id> or <@&role> from outside text, never @everyone', () => {
    const out = renderDiscord({ text: `${mention('111')} your reply was not sent. A fan wrote: <@222> <@&333> @everyone`, card: { title: 'T', body: `by ${mention('444')}`, context: `owner ${mention('111')}` } });
    expect(out.content).toBe('<@111> your reply was not sent. A fan wrote: <@222> <@&333> @everyone');
    expect(out.allowed_mentions).toEqual({ parse: [], users: ['111'] });
    expect(out.embeds[0]?.description).toBe('by <@444>');
    // Footers show no mentions on Discord: the id is written out instead of a raw <@…>.
    expect(out.embeds[0]?.footer?.text).toBe('owner @111');
  });

  it('everything people typed, and their names, lose forged marks before any flow sees them', () => {
    const respond: Responder = { ephemeral: async () => undefined, openForm: async () => undefined };
    const actor = { ref: { platform: 'discord' as const, workspace: 'g', user: '1' }, name: `Eve ${forged('2')}` };
    const channel = { platform: 'discord' as const, workspace: 'g', channel: 'c' };
    const events: InboundEvent[] = [
      { type: 'message', platform: 'discord', actor, message: channel, text: `hi ${forged('2')}`, files: [] },
      { type: 'thread-reply', platform: 'discord', actor, message: channel, parent: channel, text: forged('2'), files: [] },
      { type: 'mention', platform: 'discord', actor, message: channel, text: forged('2'), files: [] },
      { type: 'shortcut', platform: 'discord', actor, shortcut: 's', message: channel, text: forged('2'), files: [], respond },
      { type: 'command', platform: 'discord', actor, command: 'draft', options: { text: forged('2') }, channel, respond },
      { type: 'form', platform: 'discord', actor, formId: 'f', values: { text: forged('2'), none: undefined }, respond },
      { type: 'action', platform: 'discord', actor, actionId: 'a', value: forged('2'), channel, message: channel, respond },
      { type: 'reaction', platform: 'discord', actor, message: channel, emoji: '👍' },
    ];
    for (const event of events) {
      const clean = cleanEvent(event);
      expect(JSON.stringify(clean), event.type).not.toMatch(/[\uE000\uE001]/);
      expect(clean.actor.name).toBe('Eve 2');
      expect('respond' in clean ? clean.respond : respond).toBe(respond);
    }
    expect((cleanEvent(events[5]!) as { values: Record<string, unknown> }).values).toEqual({ text: '2', none: undefined });
  });
});
