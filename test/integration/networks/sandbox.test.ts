import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxNetwork } from '../../../src/networks/sandbox/index.ts';
import { NetworkError, type PublishInput, type SocialNetwork } from '../../../src/networks/port.ts';
import { SimulatedNetwork } from '../../../src/sandbox/network.ts';
import { captureLogger } from '../../support/log.ts';

/**
 * The sandbox's simulated network served over HTTP, and Herald's connector for it: the same
 * promises as the real networks' connectors (one post per idempotency key whatever the retries,
 * threads completed not repeated, an inbox cursor that neither loses nor repeats, errors classified).
 */
describe('the sandbox network and its connector', () => {
  let server: Server;
  let network: SimulatedNetwork;
  let client: SocialNetwork;
  const log = captureLogger('warn').log;
  const input = (posts: string[], key: string): PublishInput => ({ posts, images: [], idempotencyKey: key, dueAt: new Date() });
  const ours = (): string[] => network.view().posts.filter((p) => p.ours).map((p) => p.text).reverse();

  beforeAll(async () => {
    network = new SimulatedNetwork({ token: 'sandbox-token-123' });
    server = createServer((request, response) => void network.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    network.setBaseUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    client = createSandboxNetwork({ service: network.apiUrl, token: network.token, log });
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('publishes once per idempotency key, completes a thread without repeating a part, even one deleted since', async () => {
    const first = await client.publish(input(['one', 'two'], 'k1'));
    const again = await client.publish(input(['one', 'two'], 'k1'));
    expect(again).toEqual(first);
    expect(await client.findPublished(input(['one', 'two'], 'k1'))).toEqual(first.posts);
    expect(ours()).toEqual(['one', 'two']);
    // A retry that carries a longer thread (a crash after part two) adds only what is missing.
    await client.delete(first.posts[0]!.remoteId);
    const third = await client.publish(input(['one', 'two', 'three'], 'k1'));
    expect(third.posts.map((p) => p.remoteId)).toEqual([first.posts[1]!.remoteId, expect.any(String)]);
    expect(ours()).toEqual(['two', 'three']);
    expect(network.view().posts.find((p) => p.text === 'three')?.inReplyTo).toBe(first.posts[1]!.remoteId);
  });

  it('the inbox: nothing before connecting, then replies anywhere in our threads and mentions, each once', async () => {
    const start = await client.fetchInbox!(undefined);
    expect(start.items).toEqual([]);
    const post = (await client.publish(input(['Our news'], 'k2'))).posts[0]!;
    network.act({ kind: 'comment', as: 'p-ioana', postId: post.remoteId, text: 'Nice!' });
    const comment = network.view().posts.find((p) => p.text === 'Nice!')!;
    network.act({ kind: 'comment', as: 'p-lucas', postId: comment.id, text: 'Agreed with Ioana' });
    network.act({ kind: 'mention', as: 'p-tom', text: 'what do you think?' });
    const page = await client.fetchInbox!(start.cursor);
    expect(page.items.map((i) => [i.kind, i.author.handle, i.text, i.ourPost?.remoteId])).toEqual([
      ['reply', 'ioana.sandbox', 'Nice!', post.remoteId],
      ['reply', 'lucas.sandbox', 'Agreed with Ioana', undefined],
      ['mention', 'tom.sandbox', '@herald-demo.sandbox what do you think?', undefined],
    ]);
    expect(page.items[1]!.rootId).toBe(post.remoteId);
    expect((await client.fetchInbox!(page.cursor)).items).toEqual([]);
    // Our reply under the comment is not an inbox item; an answer to it is.
    const reply = await client.reply!(comment.id, input(['Thanks!'], 'k3'));
    network.act({ kind: 'comment', as: 'p-ioana', postId: reply.posts[0]!.remoteId, text: 'You are welcome' });
    const next = await client.fetchInbox!(page.cursor);
    expect(next.items.map((i) => [i.text, i.ourPost?.remoteId])).toEqual([['You are welcome', reply.posts[0]!.remoteId]]);
  });

  it('reads counters and followers, and leaves out deleted posts', async () => {
    const post = (await client.publish(input(['Counted'], 'k4'))).posts[0]!;
    const gone = (await client.publish(input(['Gone'], 'k5'))).posts[0]!;
    network.act({ kind: 'like', as: 'p-maya', postId: post.remoteId });
    network.act({ kind: 'like', as: 'p-maya', postId: post.remoteId });
    network.act({ kind: 'repost', as: 'p-sam', postId: post.remoteId });
    await client.delete(gone.remoteId);
    expect(await client.fetchMetrics!([post.remoteId, gone.remoteId])).toEqual([{ remoteId: post.remoteId, likes: 1, reposts: 1, replies: 0, quotes: 0 }]);
    const before = await client.followers!();
    network.act({ kind: 'follow', as: 'p-elena' });
    expect(await client.followers!()).toBe(before + 1);
  });

  it('classifies failures as the publishing job needs them', async () => {
    const failure = async (run: () => Promise<unknown>): Promise<string> => {
      const error = await run().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NetworkError);
      return (error as NetworkError).failure;
    };
    const revoked = createSandboxNetwork({ service: network.apiUrl, token: 'someone-elses-token', log });
    expect(await failure(() => revoked.verify())).toBe('auth_revoked');
    expect(await failure(() => client.publish(input(['x'.repeat(301)], 'k6')))).toBe('content_refused');
    expect(await failure(() => client.delete('nothing-here'))).toBe('not_found');
    const down = createSandboxNetwork({ service: 'http://127.0.0.1:9/sandbox/net', token: network.token, log, timeoutMs: 2_000 });
    expect(await failure(() => down.verify())).toBe('unavailable');
    expect(ours()).not.toContain('x'.repeat(301));
  });
});
