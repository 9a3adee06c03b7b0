import type { Command } from '../src/chat/registry.ts';
import help from './help.ts';
import ping from './ping.ts';

/** Every chat command, declared once; the registry registers them on every platform. */
export const allCommands: readonly Command[] = [help, ping] as readonly Command[];
