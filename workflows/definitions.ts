import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { ConversionRequest } from '../src/domain/attribution-rules';
import type { SessionView } from './session';

// What workflows share with their callers (the client, the recovery sweep, the local stack and
// deploy/register-search-attributes.sh): signal and query definitions and the search-attribute
// keys. Here, on the workflow side, so workflow code imports nothing from src/temporal.

export const conversionSignal = defineSignal<[ConversionRequest]>('conversion');
export const sessionQuery = defineQuery<SessionView>('session');

// Operators find sessions in the Temporal UI by these.
export const CampaignId = defineSearchAttributeKey('CampaignId', SearchAttributeType.KEYWORD);
export const AdvertiserId = defineSearchAttributeKey('AdvertiserId', SearchAttributeType.KEYWORD);
export const PublisherId = defineSearchAttributeKey('PublisherId', SearchAttributeType.KEYWORD);
export const SessionStatus = defineSearchAttributeKey('SessionStatus', SearchAttributeType.KEYWORD);
export const Country = defineSearchAttributeKey('Country', SearchAttributeType.KEYWORD);
export const DeviceType = defineSearchAttributeKey('DeviceType', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_NAMES = [CampaignId, AdvertiserId, PublisherId, SessionStatus, Country, DeviceType].map((k) => k.name);
