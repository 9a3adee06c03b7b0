import { z } from 'zod';
import { defineCommand, everyone } from '../src/chat/registry.ts';
import { checkApproval, progress } from '../src/core/policy.ts';

/** `/herald mine`: what waits on me, to write and to approve. */
export default defineCommand({
  name: 'herald mine',
  description: 'List the drafts that wait on you',
  options: z.object({}),
  permission: everyone,
  async run({ app, actor, channel, membership, respond, t }) {
    const workspace = `${channel.platform}:${channel.workspace}`;
    const me = actor.ref.user;
    const toWrite = await app.stores.drafts.list(workspace, { statuses: ['changes_requested', 'pending'], authorOrAssignee: me });
    const writing = toWrite.filter((d) => d.status === 'changes_requested' || (d.assigneeId === me && d.authorId !== me));
    const settings = await app.stores.settings.get(workspace);
    const pending = await app.stores.drafts.list(workspace, { statuses: ['pending'], limit: 100 });
    const toApprove = [];
    for (const draft of pending) {
      const policy = app.stores.settings.policyFor(settings, undefined);
      const approvals = await app.stores.approvals.forVersion(draft.id, draft.version);
      const verdict = checkApproval(policy, { ...draft, approvals, pending: true }, { user: me, isAdmin: membership.isAdmin, groups: membership.groups }, draft.version, () => 1);
      if (verdict.ok) toApprove.push({ draft, state: progress(policy, { ...draft, approvals }, () => 1) });
    }
    const lines = [
      `*${t('mine.toWrite')}*`,
      ...(writing.length ? writing.map((d) => `• ${d.id} · ${t(`draft.status.${d.status}`)}${d.dueAt ? ` · ${t('mine.due', { when: d.dueAt.toISOString().slice(0, 16).replace('T', ' ') })}` : ''} · ${d.text.slice(0, 60)}`) : [t('mine.nothing')]),
      `*${t('mine.toApprove')}*`,
      ...(toApprove.length ? toApprove.map(({ draft, state }) => `• ${draft.id} · ${draft.authorName} · ${state.have}/${state.need} · ${draft.text.slice(0, 60)}`) : [t('mine.nothing')]),
    ];
    await respond.ephemeral({ text: lines.join('\n') });
  },
});
