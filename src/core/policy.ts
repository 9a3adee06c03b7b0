/**
 * Approval policies: who must approve a draft before it may publish. Pure rules; the approval flow
 * feeds them the draft, the person and the group sizes it resolved from the platform.
 */
export interface ApproverSpec {
  /** Slack user group ids or handles; Discord role ids or names. */
  groups: string[];
  /** Named people (platform user ids). */
  users: string[];
}

export type Requirement = 'any' | 'all' | number;

export interface ApprovalStep {
  name: string;
  approvers: ApproverSpec;
  required: Requirement;
  /** The step applies only to drafts carrying one of these labels (e.g. "legal"); always when absent. */
  forLabels?: string[];
}

export interface ApprovalPolicy {
  steps: ApprovalStep[];
  allowSelfApproval: boolean;
  /** Approvals are reset when the text changes (a new version). */
  resetOnEdit: boolean;
  remindAfterMinutes: number;
  escalateAfterMinutes: number;
  escalateTo?: ApproverSpec;
}

export interface Approval {
  user: string;
  step: number;
  version: number;
  at: Date;
}

export interface Person {
  user: string;
  isAdmin: boolean;
  groups: string[];
}

export type Refusal = 'not_pending' | 'old_version' | 'self_approval' | 'not_approver' | 'already_approved';

export interface PolicyDraft {
  authorId: string;
  version: number;
  labels: string[];
  approvals: Approval[];
}

/** The steps that apply to a draft, in order, with their index in the policy. */
export function applicableSteps(policy: ApprovalPolicy, labels: readonly string[]): { index: number; step: ApprovalStep }[] {
  const wanted = labels.map((l) => l.toLowerCase());
  return policy.steps
    .map((step, index) => ({ index, step }))
    .filter(({ step }) => !step.forLabels || step.forLabels.some((l) => wanted.includes(l.toLowerCase())));
}

/** How many approvals a step needs; "all" counts the eligible people the flow resolved. */
export function needed(step: ApprovalStep, eligibleCount: number): number {
  if (step.required === 'any') return 1;
  if (step.required === 'all') return Math.max(1, eligibleCount);
  return Math.max(1, step.required);
}

export function isApprover(spec: ApproverSpec, person: Person): boolean {
  const groups = person.groups.map((g) => g.toLowerCase());
  return spec.users.includes(person.user) || spec.groups.some((g) => groups.includes(g.toLowerCase()));
}

export interface Progress {
  /** Index in policy.steps of the step waiting for approvals; undefined when all are met. */
  currentStep?: number;
  have: number;
  need: number;
  complete: boolean;
}

/**
 * Where a draft stands. Only approvals of the current version count, and an approval counts once
 * per person and step, so a double click or a replayed event changes nothing.
 */
export function progress(policy: ApprovalPolicy, draft: PolicyDraft, eligibleCount: (step: ApprovalStep) => number): Progress {
  for (const { index, step } of applicableSteps(policy, draft.labels)) {
    const approvers = new Set(draft.approvals.filter((a) => a.step === index && a.version === draft.version).map((a) => a.user));
    const need = needed(step, eligibleCount(step));
    if (approvers.size < need) return { currentStep: index, have: approvers.size, need, complete: false };
  }
  return { have: 0, need: 0, complete: true };
}

/** Whether this person may approve this version now; the reason when not. */
export function checkApproval(
  policy: ApprovalPolicy,
  draft: PolicyDraft & { pending: boolean },
  person: Person,
  version: number,
  eligibleCount: (step: ApprovalStep) => number,
): { ok: true; step: number } | { ok: false; reason: Refusal } {
  if (!draft.pending) return { ok: false, reason: 'not_pending' };
  if (version !== draft.version) return { ok: false, reason: 'old_version' };
  if (!policy.allowSelfApproval && person.user === draft.authorId) return { ok: false, reason: 'self_approval' };
  const state = progress(policy, draft, eligibleCount);
  if (state.currentStep === undefined) return { ok: false, reason: 'not_pending' };
  const step = policy.steps[state.currentStep]!;
  if (!isApprover(step.approvers, person) && !(person.isAdmin && step.approvers.groups.length === 0 && step.approvers.users.length === 0)) {
    return { ok: false, reason: 'not_approver' };
  }
  if (draft.approvals.some((a) => a.user === person.user && a.step === state.currentStep && a.version === draft.version)) {
    return { ok: false, reason: 'already_approved' };
  }
  return { ok: true, step: state.currentStep };
}

/** The policy a workspace has before anyone sets one: any one admin approves, no self-approval. */
export const defaultPolicy: ApprovalPolicy = {
  steps: [{ name: 'review', approvers: { groups: [], users: [] }, required: 'any' }],
  allowSelfApproval: false,
  resetOnEdit: true,
  remindAfterMinutes: 240,
  escalateAfterMinutes: 480,
};
