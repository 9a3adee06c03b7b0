/**
 * Herald's command declarations → Discord application commands (one PUT replaces the whole set).
 *
 * "herald ping" and "herald help" become sub-commands (type 1 options) of one root chat-input
 * command "herald"; a one-word declaration ("draft") becomes a plain chat-input command. Every
 * option is a string option, so the registry validates one shape on every platform. Shortcuts
 * become message context-menu commands (type 3), matched back to their id by name.
 */
import { ApplicationCommandOptionType, ApplicationCommandType } from 'discord.js';
import type {
  APIApplicationCommandBasicOption,
  APIApplicationCommandSubcommandOption,
  RESTPutAPIApplicationCommandsJSONBody,
} from 'discord.js';
import type { CommandDeclaration, ShortcutDeclaration } from '../port.ts';
import { truncate } from './render.ts';

const MAX = { name: 32, description: 100, options: 25, choices: 25, choiceName: 100, choiceValue: 100, commands: 100 } as const;

type Option = CommandDeclaration['options'][number];

function stringOption(option: Option, command: string): APIApplicationCommandBasicOption {
  const choices = option.choices ?? [];
  if (choices.length > MAX.choices) throw new Error(`option "${option.name}" of "${command}" has ${choices.length} choices; Discord takes ${MAX.choices}`);
  const tooLong = choices.find((c) => c.length > MAX.choiceValue);
  if (tooLong) throw new Error(`choice "${tooLong}" of "${command}" is longer than ${MAX.choiceValue} characters`);
  return {
    type: ApplicationCommandOptionType.String,
    name: option.name,
    description: truncate(option.description || option.name, MAX.description),
    required: option.required,
    ...(choices.length > 0 ? { choices: choices.map((c) => ({ name: truncate(c, MAX.choiceName), value: c })) } : {}),
  };
}

/** Discord rejects a required option after an optional one: required first, order otherwise kept. */
function stringOptions(declaration: CommandDeclaration): APIApplicationCommandBasicOption[] {
  if (declaration.options.length > MAX.options) throw new Error(`"${declaration.name}" has more than ${MAX.options} options`);
  const options = declaration.options.map((o) => stringOption(o, declaration.name));
  return [...options.filter((o) => o.required), ...options.filter((o) => !o.required)];
}

export function buildApplicationCommands(
  commands: readonly CommandDeclaration[],
  shortcuts: readonly ShortcutDeclaration[],
): RESTPutAPIApplicationCommandsJSONBody {
  const roots = new Map<string, { plain?: CommandDeclaration; subs: CommandDeclaration[] }>();
  for (const declaration of commands) {
    const [root, sub, ...rest] = declaration.name.trim().split(/\s+/);
    if (!root || rest.length > 0) throw new Error(`command "${declaration.name}" must be one or two words`);
    const entry = roots.get(root) ?? { subs: [] };
    roots.set(root, entry);
    if (sub) entry.subs.push(declaration);
    else entry.plain = declaration;
  }

  const body: RESTPutAPIApplicationCommandsJSONBody = [];
  for (const [root, { plain, subs }] of roots) {
    if (plain && subs.length > 0) throw new Error(`"${root}" cannot be both a command and a group of sub-commands on Discord`);
    if (subs.length > MAX.options) throw new Error(`"${root}" has more than ${MAX.options} sub-commands`);
    if (plain) {
      body.push({ type: ApplicationCommandType.ChatInput, name: root, description: truncate(plain.description, MAX.description), options: stringOptions(plain) });
      continue;
    }
    const options: APIApplicationCommandSubcommandOption[] = subs.map((d) => ({
      type: ApplicationCommandOptionType.Subcommand,
      name: d.name.split(/\s+/)[1]!,
      description: truncate(d.description, MAX.description),
      options: stringOptions(d),
    }));
    // The root of a group has no declaration of its own; its description lists what it groups,
    // which reads the same in every language.
    const description = truncate(options.map((o) => o.name).join(', '), MAX.description);
    body.push({ type: ApplicationCommandType.ChatInput, name: root, description, options });
  }
  const shortcutNames = new Set<string>();
  for (const shortcut of shortcuts) {
    if (shortcutNames.has(shortcut.name)) throw new Error(`two shortcuts are named "${shortcut.name}"; Discord matches them by name`);
    shortcutNames.add(shortcut.name);
    if (shortcut.name.length === 0 || shortcut.name.length > MAX.name) {
      throw new Error(`shortcut "${shortcut.id}" needs a name of 1 to ${MAX.name} characters for Discord's message menu`);
    }
    body.push({ type: ApplicationCommandType.Message, name: shortcut.name });
  }
  if (body.length > MAX.commands) throw new Error(`Discord takes at most ${MAX.commands} application commands`);
  return body;
}
