import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import type { Config } from '../config';

/** How the client and the worker authenticate to Temporal: mTLS, an API key, both, or neither (local). */
export interface TemporalAuth {
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

/**
 * Built once at start from the configured PEM files (their presence is checked by the config). An
 * API key alone implies TLS: Temporal Cloud accepts it only over TLS.
 */
export function temporalAuth(c: Config): TemporalAuth {
  const wantsTls = Boolean(c.TEMPORAL_TLS_CERT || c.TEMPORAL_TLS_CA || c.TEMPORAL_TLS_SERVER_NAME || c.TEMPORAL_API_KEY);
  if (!wantsTls) return {};
  const tls: TLSConfig = {
    ...(c.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: c.TEMPORAL_TLS_SERVER_NAME } : {}),
    ...(c.TEMPORAL_TLS_CA ? { serverRootCACertificate: readFileSync(c.TEMPORAL_TLS_CA) } : {}),
    ...(c.TEMPORAL_TLS_CERT && c.TEMPORAL_TLS_KEY ? { clientCertPair: { crt: readFileSync(c.TEMPORAL_TLS_CERT), key: readFileSync(c.TEMPORAL_TLS_KEY) } } : {}),
  };
  return { tls, ...(c.TEMPORAL_API_KEY ? { apiKey: c.TEMPORAL_API_KEY } : {}) };
}
