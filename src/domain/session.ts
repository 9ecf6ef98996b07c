// The session as it travels between the click path, the session workflow and its activities.
// Plain data only (it is a workflow argument): times are epoch milliseconds.

export interface DeviceInfo {
  type: string;
  os: string | null;
  browser: string | null;
  vendor: string | null;
  model: string | null;
}

export interface SessionProviders {
  campaign: string | null;
  publisher: string | null;
  business: string | null;
}

export interface SessionSnapshot {
  sessionId: string;
  advertiserId: string;
  campaignId: string;
  assetId: string | null;
  publisherId: string;
  supportId: string | null;
  ip: string;
  country: string | null;
  device: DeviceInfo;
  userAgent: string | null;
  publisherData: Record<string, string>;
  referrer: string | null;
  providers: SessionProviders;
  bot: boolean;
  duplicate: boolean;
  /** The click came from a sub-resource (`<img>`, `<iframe>`, fetch), not a navigation: no cookie was set. */
  nonNavigation?: boolean;
  createdAtMs: number;
  expiresAtMs: number;
}

/** Outbound retry policy, from configuration, handed to the workflow as input (workflows read no env). */
export interface DeliveryPolicy {
  initialIntervalMs: number;
  maximumIntervalMs: number;
  maximumAttempts: number;
  timeoutMs: number;
}

export interface DeliveryRequest {
  deliveryId: string;
  conversionId: string;
  sessionId: string;
  target: 'publisher' | 'provider';
  targetId: string;
  url: string;
}
