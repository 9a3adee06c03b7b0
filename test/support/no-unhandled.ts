/**
 * Fails the run when anything rejects or throws without a handler. Herald promises that no
 * input makes it crash; a stray rejection in a test is the first sign that the promise broke.
 */
const failures: unknown[] = [];
const onRejection = (reason: unknown): void => {
  failures.push(reason);
};
process.on('unhandledRejection', onRejection);
process.on('uncaughtException', onRejection);

import { afterAll, afterEach } from 'vitest';

afterEach(() => {
  if (failures.length > 0) {
    const first = failures.splice(0);
    throw new Error(`unhandled rejection or exception during the test: ${String(first[0] instanceof Error ? first[0].stack : first[0])}`);
  }
});

afterAll(() => {
  if (failures.length > 0) throw new Error(`unhandled rejection after the tests: ${String(failures[0])}`);
});
