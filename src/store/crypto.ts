import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Credentials at rest: AES-256-GCM with a random 96-bit nonce per value, and the owning document's
 * id as associated data, so a ciphertext copied onto another account does not decrypt.
 */
export interface Sealed {
  v: 1;
  iv: string;
  tag: string;
  data: string;
}

export class EncryptionKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EncryptionKeyError';
  }
}

/** Accepts 32 bytes as 64 hex characters or as base64 (44 characters). */
export function parseEncryptionKey(raw: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(raw) ? Buffer.from(raw, 'hex') : Buffer.from(raw, 'base64');
  if (key.length !== 32) throw new EncryptionKeyError('HERALD_ENCRYPTION_KEY must be 32 bytes: 64 hex characters or 44 base64 characters (openssl rand -base64 32).');
  return key;
}

export function seal(plaintext: string, key: Buffer, associated: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associated, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { v: 1, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

export function open(sealed: Sealed, key: Buffer, associated: string): string {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(associated, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  } catch (error) {
    throw new EncryptionKeyError(`stored credentials for ${associated} cannot be decrypted with HERALD_ENCRYPTION_KEY (wrong key, or the data was altered)`, { cause: error });
  }
}
