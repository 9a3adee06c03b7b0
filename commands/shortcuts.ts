import type { ShortcutDeclaration } from '../src/chat/port.ts';
import { catalogue } from '../src/i18n/catalogue.ts';

export const SHORTCUT_DRAFT = 'draft-from-message';

/**
 * Every message shortcut (Slack) / message context-menu command (Discord). Flows attach the
 * handlers by id; the Slack manifest and Discord registration read this list.
 */
export const allShortcuts: readonly ShortcutDeclaration[] = [
  { id: SHORTCUT_DRAFT, name: catalogue.en['shortcut.draft'], description: 'Turn this message (and its images) into a post draft' },
];
