import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import { createAccountStore } from '../../src/store/accounts.ts';
import { EncryptionKeyError, open, parseEncryptionKey, seal } from '../../src/store/crypto.ts';
import { createStores } from '../../src/store/stores.ts';
import { openTestDatabase, type TestDatabase } from '../support/mongo.ts';

describe('sealed credentials', () => {
  const key = randomBytes(32);

  it('round-trips, and refuses another key, another document, or a changed byte', () => {
    const sealed = seal('{"token":"abc"}', key, 'acc-1');
    expect(open(sealed, key, 'acc-1')).toBe('{"token":"abc"}');
    expect(sealed.data).not.toContain('abc');
    expect(() => open(sealed, randomBytes(32), 'acc-1')).toThrow(EncryptionKeyError);
    expect(() => open(sealed, key, 'acc-2')).toThrow(EncryptionKeyError);
    const tampered = { ...sealed, data: Buffer.from(Buffer.from(sealed.data, 'base64').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64') };
    expect(() => open(tampered, key, 'acc-1')).toThrow(EncryptionKeyError);
    expect(seal('same', key, 'a').iv).not.toBe(seal('same', key, 'a').iv);
  });

  it('accepts 32-byte keys in hex or base64 only', () => {
    expect(parseEncryptionKey(key.toString('hex'))).toEqual(key);
    expect(parseEncryptionKey(key.toString('base64'))).toEqual(key);
    expect(() => parseEncryptionKey('short')).toThrow(/32 bytes/);
  });
});

describe('account store', () => {
  let database: TestDatabase;
  const key = randomBytes(32);
  beforeAll(async () => {
    database = await openTestDatabase('accounts');
  });
  afterAll(() => database.cleanup());

  it('stores credentials sealed, reconnects the same handle in place, and tracks health epochs', async () => {
    const stores = await createStores(database.db, systemClock, { encryptionKey: key });
    await stores.accounts.checkKey();
    const first = await stores.accounts.connect({ workspace: 'slack:T1', network: 'mastodon', handle: 'brand@social.example', connectedBy: 'U1', credentials: { instanceUrl: 'https://social.example', accessToken: 'secret-token-1' } });
    const raw = await database.db.collection('accounts').findOne({ _id: first.id as never });
    expect(JSON.stringify(raw)).not.toContain('secret-token-1');
    expect(await stores.accounts.credentials(first.id)).toEqual({ instanceUrl: 'https://social.example', accessToken: 'secret-token-1' });

    const epoch = await stores.accounts.markFailing(first.id, 'token revoked');
    expect((await stores.accounts.get(first.id))?.health).toBe('failing');
    const again = await stores.accounts.connect({ workspace: 'slack:T1', network: 'mastodon', handle: 'brand@social.example', connectedBy: 'U2', credentials: { instanceUrl: 'https://social.example', accessToken: 'secret-token-2' } });
    expect(again.id).toBe(first.id);
    expect(again.health).toBe('ok');
    expect(again.epoch).toBe(epoch + 1);
    expect(await stores.accounts.list('slack:T1')).toHaveLength(1);
    expect((await stores.accounts.forNetwork('slack:T1', 'mastodon'))?.handle).toBe('brand@social.example');
  });

  it('refuses to start with a different key than the one that sealed the stored credentials', async () => {
    const other = createAccountStore(database.db, systemClock, randomBytes(32));
    await expect(other.checkKey()).rejects.toThrow(/not the key Herald used before|cannot be decrypted/);
    const none = createAccountStore(database.db, systemClock, undefined);
    await expect(none.checkKey()).rejects.toThrow(/HERALD_ENCRYPTION_KEY is not set, but connected accounts exist/);
    await expect(none.connect({ workspace: 'w', network: 'bluesky', handle: 'h', connectedBy: 'u', credentials: {} })).rejects.toThrow(/HERALD_ENCRYPTION_KEY is not set/);
  });
});
