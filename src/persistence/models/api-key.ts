import { createHash, randomBytes } from 'node:crypto';
import { Schema, model, type InferSchemaType } from 'mongoose';

export const API_KEY_KINDS = ['operator', 'advertiser', 'publisher'] as const;
export type ApiKeyKind = (typeof API_KEY_KINDS)[number];

// Only a SHA-256 of the key is stored: a leaked database does not leak working keys. The key is
// 256 random bits, so a plain (unsalted) hash is enough and lets a request find its key by index.
const apiKeySchema = new Schema(
  {
    _id: { type: String, required: true },
    hash: { type: String, required: true, unique: true },
    /** The key's first characters, enough for a person to tell keys apart. */
    prefix: { type: String, required: true },
    name: { type: String, default: null },
    kind: { type: String, enum: API_KEY_KINDS, required: true },
    /** The advertiser or publisher id the key belongs to; null for operator keys. */
    accountId: { type: String, default: null },
    revokedAt: { type: Date, default: null },
    /** After this the key answers 401; null: no expiry. */
    expiresAt: { type: Date, default: null },
    /** When the key last authenticated a request, to within LAST_USED_RESOLUTION_MS. */
    lastUsedAt: { type: Date, default: null },
  },
  { timestamps: true, versionKey: false },
);

export type ApiKeyDoc = InferSchemaType<typeof apiKeySchema> & { _id: string };
export const ApiKey = model('ApiKey', apiKeySchema, 'api_keys');

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Creates a key and returns its plaintext, which is never stored and cannot be shown again. */
export async function issueApiKey(o: { kind: ApiKeyKind; accountId: string | null; name?: string | null; expiresAt?: Date | null }) {
  const key = `ct_${o.kind.slice(0, 3)}_${randomBytes(32).toString('base64url')}`;
  const doc = await ApiKey.create({
    _id: `key_${randomBytes(8).toString('hex')}`,
    hash: hashApiKey(key),
    prefix: key.slice(0, 12),
    name: o.name ?? null,
    kind: o.kind,
    accountId: o.kind === 'operator' ? null : o.accountId,
    expiresAt: o.expiresAt ?? null,
  });
  return { key, record: doc.toObject() as ApiKeyDoc };
}
