import { createHash, randomBytes } from 'node:crypto';
import { Schema, model } from 'mongoose';

// A dashboard sign-in: the browser holds an opaque random id in an HttpOnly cookie, the database
// only its SHA-256 (a leaked database holds no working session), with the API key it stands for.
const browserSessionSchema = new Schema(
  {
    /** SHA-256 (hex) of the cookie value. */
    _id: { type: String, required: true },
    keyId: { type: String, required: true, index: true },
    /** Checked on every request; the TTL index only clears expired records away. */
    expiresAt: { type: Date, required: true, expires: 0 },
  },
  { timestamps: true, versionKey: false },
);

export const BrowserSession = model('BrowserSession', browserSessionSchema, 'browser_sessions');

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** The CSRF token of a session: derived from its secret id, so it needs no storage and no other session's works. */
export function csrfTokenOf(id: string): string {
  return createHash('sha256').update(`csrf:${id}`, 'utf8').digest('base64url');
}

export async function openBrowserSession(keyId: string, expiresAt: Date): Promise<{ id: string; csrfToken: string }> {
  const id = randomBytes(32).toString('base64url');
  await BrowserSession.create({ _id: hashSessionId(id), keyId, expiresAt });
  return { id, csrfToken: csrfTokenOf(id) };
}
