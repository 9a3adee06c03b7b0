import { ApiError } from './core.ts';
import { bool, num, str } from './methods-chat.ts';
import type { SlackUserGroup } from './types.ts';
import type { MethodHandler } from './web-api.ts';

function group(g: SlackUserGroup, includeUsers: boolean): object {
  const { users, ...rest } = g;
  return { ...rest, is_usergroup: true, user_count: users.length, ...(includeUsers ? { users } : {}) };
}

export const directoryMethods: Record<string, MethodHandler> = {
  'auth.test': (_args, core) => {
    const { team } = core.store.state;
    return {
      url: `https://${team.domain}.slack.com/`,
      team: team.name,
      user: core.store.state.app.name,
      team_id: team.id,
      user_id: core.config.botUserId,
      bot_id: core.config.botId,
      is_enterprise_install: false,
    };
  },

  'users.info': (args, core) => {
    const user = core.store.user(str(args, 'user') ?? '');
    if (!user) throw new ApiError('user_not_found');
    return { user };
  },

  'users.lookupByEmail': (args, core) => {
    const email = str(args, 'email');
    const user = core.store.state.users.find((u) => u.profile.email === email);
    if (!user) throw new ApiError('users_not_found');
    return { user };
  },

  'users.list': (args, core) => {
    const all = core.store.state.users;
    const limit = num(args, 'limit', 1000);
    const start = Number(str(args, 'cursor')?.replace('users:', '') ?? 0) || 0;
    const next = start + limit < all.length ? `users:${start + limit}` : '';
    return { members: all.slice(start, start + limit), cache_ts: Math.floor(Date.now() / 1000), response_metadata: { next_cursor: next } };
  },

  'usergroups.list': (args, core) => ({
    usergroups: core.store.state.userGroups.map((g) => group(g, bool(args, 'include_users'))),
  }),

  'usergroups.users.list': (args, core) => {
    const g = core.store.userGroup(str(args, 'usergroup') ?? '');
    if (!g) throw new ApiError('no_such_subteam');
    return { users: [...g.users] };
  },

  'team.info': (_args, core) => ({ team: { ...core.store.state.team, email_domain: 'herald.test' } }),
};
