import type { Flow } from '../src/flow.ts';
import approval from './approval.ts';
import retention from './retention.ts';

/** Every flow Herald runs, in start order. */
export const allFlows: readonly Flow[] = [retention, approval];
