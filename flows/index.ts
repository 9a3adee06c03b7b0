import type { Flow } from '../src/flow.ts';
import approval from './approval.ts';
import crisis from './crisis.ts';
import inbox from './inbox.ts';
import metrics from './metrics.ts';
import digest from './digest.ts';
import accounts from './accounts.ts';
import pause from './pause.ts';
import publishing from './publishing.ts';
import retention from './retention.ts';

/** Every flow Herald runs, in start order. */
export const allFlows: readonly Flow[] = [retention, approval, publishing, accounts, pause, inbox, crisis, metrics, digest];
