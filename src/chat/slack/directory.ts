import type { webApi } from '@slack/bolt';
import type { Membership } from '../port.ts';
import { ExpiringLru } from './cache.ts';

/** What Herald needs to know about a person: a name to show, a locale, and whether they administer the workspace. */
export interface SlackPerson {
  name: string;
  locale?: string;
  isAdmin: boolean;
  timeZone?: string;
}

export interface SlackDirectory {
  person(user: string): Promise<SlackPerson>;
  membership(user: string): Promise<Membership>;
  /** Members of a user group named by id (S…) or handle (with or without @); empty when there is none. */
  groupMembers(group: string): Promise<string[]>;
}

interface Group {
  id: string;
  handle: string;
  users: string[];
}

/**
 * users.info and usergroups.list behind a short cache (60 s by default): a burst of clicks costs a
 * couple of calls, and a change of group or admin status takes effect within a minute. Concurrent
 * lookups share one call; a failed lookup is not cached.
 */
export function createSlackDirectory(web: webApi.WebClient, options: { ttlMs?: number; now?: () => number } = {}): SlackDirectory {
  const ttlMs = options.ttlMs ?? 60_000;
  const people = new ExpiringLru<string, Promise<SlackPerson>>({ max: 5_000, ttlMs, ...(options.now ? { now: options.now } : {}) });
  const groups = new ExpiringLru<'all', Promise<Group[]>>({ max: 1, ttlMs, ...(options.now ? { now: options.now } : {}) });

  const cached = <K, V>(cache: ExpiringLru<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> => {
    const hit = cache.get(key);
    if (hit) return hit;
    const pending = load();
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
    return pending;
  };

  const person = (user: string): Promise<SlackPerson> =>
    cached(people, user, async () => {
      const res = await web.users.info({ user, include_locale: true });
      const u = res.user;
      if (!u) throw new Error(`users.info returned no user for ${user}`);
      return {
        name: u.profile?.display_name || u.real_name || u.name || user,
        ...(u.locale ? { locale: u.locale } : {}),
        isAdmin: Boolean(u.is_admin || u.is_owner || u.is_primary_owner),
        ...(u.tz ? { timeZone: u.tz } : {}),
      };
    });

  const allGroups = (): Promise<Group[]> =>
    cached(groups, 'all', async () => {
      const res = await web.usergroups.list({ include_users: true });
      return (res.usergroups ?? []).flatMap((g) => (g.id && g.handle ? [{ id: g.id, handle: g.handle, users: g.users ?? [] }] : []));
    });

  return {
    person,
    async membership(user) {
      const [who, all] = await Promise.all([person(user), allGroups()]);
      return { isAdmin: who.isAdmin, groups: all.filter((g) => g.users.includes(user)).flatMap((g) => [g.id, g.handle]), ...(who.timeZone ? { timeZone: who.timeZone } : {}) };
    },
    async groupMembers(group) {
      const wanted = group.replace(/^<!subteam\^(\w+)(?:\|[^>]*)?>$/, '$1').replace(/^@/, '').toLowerCase();
      const found = (await allGroups()).find((g) => g.id.toLowerCase() === wanted || g.handle.toLowerCase() === wanted);
      return found ? [...found.users] : [];
    },
  };
}
