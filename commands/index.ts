import type { Command } from '../src/chat/registry.ts';
import accounts from './accounts.ts';
import calendar from './calendar.ts';
import crisis from './crisis.ts';
import digest from './digest.ts';
import draftHistory from './draft-history.ts';
import exportCommand from './export.ts';
import goals from './goals.ts';
import report from './report.ts';
import draftNew from './draft.ts';
import help from './help.ts';
import inbox from './inbox.ts';
import inboxRules from './inbox-rules.ts';
import mine from './mine.ts';
import oncall from './oncall.ts';
import ping from './ping.ts';
import pause from './pause.ts';
import policy from './policy.ts';
import resume from './resume.ts';
import settings from './settings.ts';
import slots from './slots.ts';
import voice from './voice.ts';

/** Every chat command, declared once; the registry registers them on every platform. */
export const allCommands: readonly Command[] = [help, ping, mine, policy, voice, settings, accounts, calendar, slots, pause, resume, draftNew, draftHistory, inbox, inboxRules, crisis, oncall, digest, report, goals, exportCommand] as readonly Command[];

export { allShortcuts, SHORTCUT_DRAFT } from './shortcuts.ts';
