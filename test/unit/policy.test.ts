import { describe, expect, it } from 'vitest';
import { checkApproval, defaultPolicy, progress, type Approval, type ApprovalPolicy, type Person } from '../../src/core/policy.ts';

const policy: ApprovalPolicy = {
  steps: [
    { name: 'marketing', approvers: { groups: ['approvers'], users: [] }, required: 2 },
    { name: 'legal', approvers: { groups: [], users: ['U_LEGAL'] }, required: 'any', forLabels: ['legal'] },
  ],
  allowSelfApproval: false,
  resetOnEdit: true,
  remindAfterMinutes: 60,
  escalateAfterMinutes: 120,
};
const approver = (user: string): Person => ({ user, isAdmin: false, groups: ['Approvers'] });
const at = new Date('2026-11-23T10:00:00Z');
const draft = (approvals: Approval[], labels: string[] = [], version = 1) => ({ authorId: 'U_AUTHOR', version, labels, approvals, pending: true });
const size = () => 3;

describe('approval policy', () => {
  it('needs N distinct approvals of the current version', () => {
    expect(progress(policy, draft([]), size)).toEqual({ currentStep: 0, have: 0, need: 2, complete: false });
    const one = [{ user: 'U_A', step: 0, version: 1, at }];
    expect(progress(policy, draft(one), size).complete).toBe(false);
    const twice = [...one, { user: 'U_A', step: 0, version: 1, at }];
    expect(progress(policy, draft(twice), size).have).toBe(1);
    const two = [...one, { user: 'U_B', step: 0, version: 1, at }];
    expect(progress(policy, draft(two), size).complete).toBe(true);
  });

  it('adds the legal step only for drafts labelled legal', () => {
    const two = [
      { user: 'U_A', step: 0, version: 1, at },
      { user: 'U_B', step: 0, version: 1, at },
    ];
    expect(progress(policy, draft(two, ['Legal']), size)).toMatchObject({ currentStep: 1, complete: false });
    expect(checkApproval(policy, draft(two, ['legal']), approver('U_C'), 1, size)).toEqual({ ok: false, reason: 'not_approver' });
    expect(checkApproval(policy, draft(two, ['legal']), { user: 'U_LEGAL', isAdmin: false, groups: [] }, 1, size)).toEqual({ ok: true, step: 1 });
  });

  it('does not count approvals of an older version (edits reset them)', () => {
    const old = [
      { user: 'U_A', step: 0, version: 1, at },
      { user: 'U_B', step: 0, version: 1, at },
    ];
    expect(progress(policy, draft(old, [], 2), size)).toMatchObject({ have: 0, complete: false });
  });

  it('refuses self-approval, outsiders, stale versions and double approvals, each with its reason', () => {
    expect(checkApproval(policy, draft([]), { ...approver('U_AUTHOR') }, 1, size)).toEqual({ ok: false, reason: 'self_approval' });
    expect(checkApproval({ ...policy, allowSelfApproval: true }, draft([]), approver('U_AUTHOR'), 1, size)).toEqual({ ok: true, step: 0 });
    expect(checkApproval(policy, draft([]), { user: 'U_X', isAdmin: false, groups: ['writers'] }, 1, size)).toEqual({ ok: false, reason: 'not_approver' });
    expect(checkApproval(policy, draft([], [], 2), approver('U_A'), 1, size)).toEqual({ ok: false, reason: 'old_version' });
    expect(checkApproval(policy, draft([{ user: 'U_A', step: 0, version: 1, at }]), approver('U_A'), 1, size)).toEqual({ ok: false, reason: 'already_approved' });
    expect(checkApproval(policy, { ...draft([]), pending: false }, approver('U_A'), 1, size)).toEqual({ ok: false, reason: 'not_pending' });
  });

  it('"all" means every eligible person', () => {
    const all: ApprovalPolicy = { ...policy, steps: [{ name: 'all', approvers: { groups: ['approvers'], users: [] }, required: 'all' }] };
    const two = [
      { user: 'U_A', step: 0, version: 1, at },
      { user: 'U_B', step: 0, version: 1, at },
    ];
    expect(progress(all, draft(two), () => 3).complete).toBe(false);
    expect(progress(all, draft(two), () => 2).complete).toBe(true);
  });

  it('by default any admin approves, and nobody their own draft', () => {
    const admin: Person = { user: 'U_ADMIN', isAdmin: true, groups: [] };
    expect(checkApproval(defaultPolicy, draft([]), admin, 1, size)).toEqual({ ok: true, step: 0 });
    expect(checkApproval(defaultPolicy, draft([]), { user: 'U_Y', isAdmin: false, groups: [] }, 1, size)).toEqual({ ok: false, reason: 'not_approver' });
    expect(checkApproval(defaultPolicy, draft([]), { ...admin, user: 'U_AUTHOR' }, 1, size)).toEqual({ ok: false, reason: 'self_approval' });
  });
});
