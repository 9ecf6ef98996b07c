import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Operators find sessions in the Temporal UI by these. Shared by the client (set at start),
// the workflow (status updates) and the local stack / compose setup (registration).
export const CampaignId = defineSearchAttributeKey('CampaignId', SearchAttributeType.KEYWORD);
export const AdvertiserId = defineSearchAttributeKey('AdvertiserId', SearchAttributeType.KEYWORD);
export const PublisherId = defineSearchAttributeKey('PublisherId', SearchAttributeType.KEYWORD);
export const SessionStatus = defineSearchAttributeKey('SessionStatus', SearchAttributeType.KEYWORD);
export const Country = defineSearchAttributeKey('Country', SearchAttributeType.KEYWORD);
export const DeviceType = defineSearchAttributeKey('DeviceType', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_NAMES = [CampaignId, AdvertiserId, PublisherId, SessionStatus, Country, DeviceType].map(
  (k) => k.name,
);
