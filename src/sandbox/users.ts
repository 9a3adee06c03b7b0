/** The sandbox workspace: its people (one per role) and its channels. */

export type SandboxRole = 'writer' | 'approver' | 'responder';

export interface SandboxUser {
  id: string;
  name: string;
  realName: string;
  role: SandboxRole;
  isAdmin: boolean;
  about: string;
}

export const sandboxUsers: readonly SandboxUser[] = [
  { id: 'U_WRITER', name: 'wanda', realName: 'Wanda', role: 'writer', isAdmin: false, about: 'Writes posts. An approver, but never of her own drafts.' },
  { id: 'U_APPROVER', name: 'alex', realName: 'Alex', role: 'approver', isAdmin: true, about: 'Approves drafts; workspace admin (accounts, rules).' },
  { id: 'U_RESPONDER', name: 'remi', realName: 'Rémi', role: 'responder', isAdmin: false, about: 'Answers comments and mentions; on call for crises.' },
];

export const sandboxChannels = [
  { id: 'C_DRAFTS', name: 'drafts', purpose: 'Write post ideas here; turn one into a draft with its More actions menu → Draft a post from this.' },
  { id: 'C_APPROVALS', name: 'approvals', purpose: 'Draft cards wait here for an approver.' },
  { id: 'C_INBOX', name: 'inbox', purpose: 'Comments and mentions from the network, one thread each.' },
  { id: 'C_CRISIS', name: 'crisis', purpose: 'Spikes of negative mentions page the on-call person here.' },
  { id: 'C_DIGEST', name: 'digest', purpose: 'The weekly digest with its charts.' },
] as const;

export const SANDBOX_TEAM = 'T_SANDBOX';
