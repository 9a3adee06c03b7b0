import type { ChatAdapter, ConversationRef, Platform, UserRef } from '../../src/chat/port.ts';

/** A message as a person would see it, read back from an emulator's state. */
export interface ObservedMessage {
  ref: ConversationRef;
  /** The plain text plus every text the card shows (title, body, fields, context), joined by newlines. */
  text: string;
  /** Buttons in order, with the encoded action id they carry. */
  buttons: { label: string; actionId: string; style?: string }[];
  /** Selects with their action ids and option values. */
  selects: { actionId: string; values: string[] }[];
  /** Attached images; `data` holds the uploaded bytes where the emulator keeps them. */
  images: { alt: string; bytes: number; filename?: string; data?: Buffer }[];
  edited: boolean;
  /** Who the message notifies: user and role/group ids of its live mentions, plus "everyone"/"here". */
  pinged: string[];
}

/**
 * One platform's emulator driven as people would drive the real one, with Herald's adapter built
 * over it. The contract suite (test/integration/chat-contract.test.ts) runs the same scenarios
 * through a harness per platform.
 */
export interface ChatHarness {
  readonly platform: Platform;
  /** Herald's real adapter for the platform, pointed at the emulator; the suite starts and stops it. */
  readonly adapter: ChatAdapter;
  /** A channel where Herald and every test user are members. */
  readonly channel: ConversationRef;
  readonly users: {
    /** Slack workspace admin; Discord member with Administrator. */
    admin: UserRef;
    /** An ordinary member in no group. */
    member: UserRef;
    /** A member of the group named by approverGroup. */
    approver: UserRef;
  };
  /** Slack user group handle / Discord role name that `approver` belongs to and `member` does not. */
  readonly approverGroup: string;

  /** "herald ping" with options; Slack sends "/herald ping key:value", Discord a sub-command with options. */
  runCommand(user: UserRef, command: string, options?: Record<string, string>): Promise<void>;
  clickButton(user: UserRef, message: ConversationRef, actionId: string): Promise<void>;
  /** A click on a button the message no longer shows, as from a screen that had not refreshed yet. */
  clickStaleButton(user: UserRef, message: ConversationRef, actionId: string): Promise<void>;
  selectOption(user: UserRef, message: ConversationRef, actionId: string, value: string): Promise<void>;
  /** Submits the form most recently opened for the user, with values keyed by field id. */
  submitOpenForm(user: UserRef, values: Record<string, string>): Promise<void>;
  /** The field errors shown on the user's open form (Slack); undefined where the platform closes forms. */
  openFormErrors(user: UserRef): Record<string, string> | undefined;
  /** The title of the form most recently opened for the user, if any is open. */
  openFormTitle(user: UserRef): string | undefined;
  /** A message, with image files attached when given. */
  postMessage(user: UserRef, channel: ConversationRef, text: string, images?: { name: string; png: Buffer; alt: string }[]): Promise<ConversationRef>;
  mentionBot(user: UserRef, channel: ConversationRef, text: string): Promise<ConversationRef>;
  replyInThread(user: UserRef, parent: ConversationRef, text: string): Promise<ConversationRef>;
  react(user: UserRef, message: ConversationRef, emoji: string): Promise<void>;
  useShortcut(user: UserRef, message: ConversationRef, shortcutId: string): Promise<void>;
  /** Sends the platform's raw payload bytes/objects as if from the platform (bad-input tests). */
  sendRawInteraction(payload: unknown): Promise<void>;

  messagesIn(channel: ConversationRef): ObservedMessage[];
  /** Replies under a message: Slack thread replies; messages of the thread started from it on Discord. */
  threadOf(parent: ConversationRef): ObservedMessage[];
  /** Messages only this user sees: Slack ephemerals and response_url answers; Discord ephemeral interaction replies. */
  ephemeralsFor(user: UserRef): ObservedMessage[];
  dmsTo(user: UserRef): ObservedMessage[];
  /** Resolves with the first truthy value of check, re-checked on every emulator change. */
  waitFor<T>(check: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;

  /** The next `times` message posts answer 429 with Retry-After. */
  rateLimitPosts(retryAfterSeconds: number, times?: number): void;
  /** How many 429s the emulator has given. */
  rateLimitHits(): number;
  /** The environment that points a whole Herald (loadConfig) at this emulator. */
  heraldEnv(): Record<string, string>;
  /** How a person is mentioned in a command option on this platform (<@U123>). */
  mention(user: UserRef): string;
  close(): Promise<void>;
}
