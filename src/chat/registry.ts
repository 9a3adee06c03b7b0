import { z } from 'zod';
import { translator, type Translate } from '../i18n/catalogue.ts';
import type { FlowContext } from '../flow.ts';
import type { Logger } from '../log.ts';
import type { Actor, ChatAdapter, CommandDeclaration, CommandInvoked, ConversationRef, Membership, Responder } from './port.ts';

/** Who may run a command. Checked on every invocation, against the platform's current facts. */
export type Permission = { kind: 'everyone' } | { kind: 'admin' } | { kind: 'group'; group: string };

export const everyone: Permission = { kind: 'everyone' };
export const adminsOnly: Permission = { kind: 'admin' };
export const inGroup = (group: string): Permission => ({ kind: 'group', group });

/** Options are strings (as both platforms send them), optional or enums, each with a description. */
type OptionSchema = z.ZodString | z.ZodEnum | z.ZodOptional<z.ZodString> | z.ZodOptional<z.ZodEnum>;
export type OptionsShape = Record<string, OptionSchema>;

export interface CommandContext<O> {
  readonly actor: Actor;
  readonly channel: ConversationRef;
  readonly options: O;
  readonly respond: Responder;
  readonly chat: ChatAdapter;
  readonly membership: Membership;
  readonly t: Translate;
  readonly log: Logger;
  /** The commands this person may run (for help). */
  readonly allowed: () => readonly Command[];
  /** Stores, scheduler, assistant and chat platforms. */
  readonly app: FlowContext;
}

export interface Command<S extends OptionsShape = OptionsShape> {
  /** "herald ping" (root and sub-command) or "draft" (a root of its own). */
  readonly name: string;
  readonly description: string;
  readonly options: z.ZodObject<S>;
  readonly permission: Permission;
  /**
   * On Slack, "/draft some text" runs this sub-command ("draft new") when the first word names no
   * other sub-command. Discord always names the sub-command.
   */
  readonly slackDefault?: boolean;
  run(context: CommandContext<z.output<z.ZodObject<S>>>): Promise<void>;
}

export function defineCommand<S extends OptionsShape>(command: Command<S>): Command<S> {
  return command;
}

/** Free text after the command on Slack; on Discord an option named "text" receives it. */
export const FREE_TEXT_OPTION = 'text';
/** Where a Slack adapter puts the raw text after the slash command. */
export const RAW_TEXT_OPTION = '_text';

const namePart = /^[a-z][a-z0-9-]{0,31}$/;

export interface CommandRegistry {
  readonly commands: readonly Command[];
  declarations(): CommandDeclaration[];
  mayRun(command: Command, membership: Membership): boolean;
  /** Resolves, checks permission, validates options and runs; every refusal goes back ephemerally. */
  handle(event: CommandInvoked, chat: ChatAdapter, app: FlowContext): Promise<void>;
}

/** Validates every command at load: a bad definition stops start-up, not a user's click. */
export function createCommandRegistry(commands: readonly Command[]): CommandRegistry {
  const byName = new Map<string, Command>();
  for (const command of commands) {
    const parts = command.name.split(' ');
    if (parts.length > 2 || !parts.every((p) => namePart.test(p))) throw new Error(`command name "${command.name}" must be one or two lowercase words of at most 32 characters`);
    if (byName.has(command.name)) throw new Error(`command "${command.name}" is declared twice`);
    if (command.description.length === 0 || command.description.length > 100) throw new Error(`command "${command.name}" needs a description of 1 to 100 characters`);
    for (const [option, schema] of Object.entries(command.options.shape)) {
      if (!namePart.test(option)) throw new Error(`option "${option}" of "${command.name}" must be a lowercase word`);
      if (!describe(schema)) throw new Error(`option "${option}" of "${command.name}" needs a description (.describe())`);
    }
    byName.set(command.name, command);
  }
  const defaults = commands.filter((c) => c.slackDefault).map((c) => c.name.split(' ')[0]);
  if (new Set(defaults).size !== defaults.length) throw new Error('a root command has two Slack defaults');
  for (const name of byName.keys()) {
    if (!name.includes(' ') && [...byName.keys()].some((other) => other.startsWith(`${name} `))) {
      throw new Error(`"${name}" cannot be both a command and a group of sub-commands`);
    }
  }

  const mayRun = (command: Command, membership: Membership): boolean => {
    switch (command.permission.kind) {
      case 'everyone':
        return true;
      case 'admin':
        return membership.isAdmin;
      case 'group':
        return membership.isAdmin || membership.groups.some((g) => g.toLowerCase() === (command.permission as { group: string }).group.toLowerCase());
    }
  };

  /** Slack sends "/herald ping a:b": split the sub-command off the raw text. */
  const resolve = (event: CommandInvoked): { command?: Command; options: Record<string, string>; name: string } => {
    const raw = event.options[RAW_TEXT_OPTION];
    if (raw === undefined) return { command: byName.get(event.command), options: event.options, name: event.command };
    const text = raw.trim();
    const first = text.split(/\s+/)[0] ?? '';
    const sub = byName.get(`${event.command} ${first.toLowerCase()}`);
    if (sub) return { command: sub, options: parseText(text.slice(first.length), Object.keys(sub.options.shape)), name: sub.name };
    const root = byName.get(event.command) ?? commands.find((c) => c.slackDefault && c.name.startsWith(`${event.command} `));
    if (root) return { command: root, options: parseText(text, Object.keys(root.options.shape)), name: root.name };
    return { options: {}, name: first ? `${event.command} ${first}` : event.command };
  };

  return {
    commands,
    declarations: () =>
      commands.map((command) => ({
        name: command.name,
        description: command.description,
        options: Object.entries(command.options.shape).map(([name, schema]) => ({
          name,
          description: describe(schema) ?? name,
          required: !schema.safeParse(undefined).success,
          ...(choicesOf(schema) ? { choices: choicesOf(schema) } : {}),
        })),
      })),
    mayRun,
    async handle(event, chat, app) {
      const log = app.log;
      const t = translator(event.actor.locale);
      const { command, options, name } = resolve(event);
      const commandLog = log.child({ platform: event.platform, command: name, user: event.actor.ref.user, channel: event.channel.channel });
      if (!command) {
        commandLog.info('unknown command');
        await event.respond.ephemeral({ text: t('chat.unknownCommand', { command: name }) });
        return;
      }
      const membership = await chat.membership(event.actor.ref);
      if (!mayRun(command, membership)) {
        const requirement = command.permission.kind === 'group' ? t('chat.requirement.group', { group: command.permission.group }) : t('chat.requirement.admin');
        commandLog.warn({ permission: command.permission }, 'command refused: missing permission');
        await event.respond.ephemeral({ text: t('chat.permissionDenied', { requirement, command: command.name }) });
        return;
      }
      const unknown = Object.keys(options).filter((key) => !(key in command.options.shape));
      const parsed = command.options.strict().safeParse(Object.fromEntries(Object.entries(options).filter(([key]) => key in command.options.shape)));
      if (unknown.length > 0 || !parsed.success) {
        const problems = [
          ...unknown.map((option) => t('chat.unknownOption', { option })),
          ...(parsed.success
            ? []
            : parsed.error.issues.map((issue) => {
                const option = String(issue.path[0] ?? '');
                const schema = command.options.shape[option];
                return options[option] === undefined && schema
                  ? t('chat.missingOption', { option, description: describe(schema) ?? option })
                  : `${option || 'options'}: ${issue.message}`;
              })),
        ];
        commandLog.info({ problems }, 'command refused: invalid options');
        await event.respond.ephemeral({ text: t('chat.invalidOptions', { command: command.name, problems: problems.join('; ') }) });
        return;
      }
      await command.run({
        actor: event.actor,
        channel: event.channel,
        options: parsed.data,
        respond: event.respond,
        chat,
        membership,
        t,
        log: commandLog,
        allowed: () => commands.filter((c) => mayRun(c, membership)),
        app,
      });
    },
  };
}

function describe(schema: OptionSchema): string | undefined {
  return schema.description ?? (schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType).description : undefined);
}

function choicesOf(schema: OptionSchema): string[] | undefined {
  const inner = schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
  return inner instanceof z.ZodEnum ? (inner.options as string[]).map(String) : undefined;
}

/**
 * Slack's free-text arguments: `key:value` or `key:"several words"` set the command's known options;
 * everything else, line breaks included, is the free text of the "text" option (so a URL's
 * "https:" never becomes an option).
 */
export function parseText(text: string, known: readonly string[]): Record<string, string> {
  const options: Record<string, string> = {};
  const pattern = /(^|\s)([a-z][\w-]*):(?:"([^"]*)"|“([^”]*)”|(\S+))/gi;
  const free = text.replace(pattern, (whole, lead: string, key: string, quoted?: string, curly?: string, bare?: string) => {
    const name = key.toLowerCase();
    if (!known.includes(name)) return whole;
    options[name] = quoted ?? curly ?? bare ?? '';
    return lead;
  });
  const rest = free.trim();
  if (rest) options[FREE_TEXT_OPTION] = rest;
  return options;
}
