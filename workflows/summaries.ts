import type { DeliveryRequest, SessionSnapshot } from '../src/domain/session';

// What the Temporal UI shows for a workflow besides its id: a one-line summary in the list (at
// most 200 bytes) and Markdown details. Start options only: they add no command to history.
// Link parameters, the referrer and URLs come from visitors and advertisers, so every value is
// escaped: nothing in them can turn into a link or markup in an operator's browser.

const SUMMARY_MAX_BYTES = 200;
const DETAILS_MAX_CHARS = 8_000;

export interface WorkflowMetadata {
  staticSummary: string;
  staticDetails: string;
}

/** `campaign · publisher · country · device` and, in the details, landing URL and sub-ids. */
export function sessionMetadata(session: SessionSnapshot, landingUrl?: string): WorkflowMetadata {
  const summary = `campaign ${session.campaignId} · publisher ${session.publisherId} · ${session.country ?? 'unknown country'} · ${session.device.type}`;
  const subIds = Object.entries(session.publisherData).map(([k, v]) => `- ${escapeMarkdown(k)}: ${escapeMarkdown(v)}`);
  const details = [
    `**Session** ${escapeMarkdown(session.sessionId)}`,
    `- advertiser: ${escapeMarkdown(session.advertiserId)}`,
    `- asset: ${escapeMarkdown(session.assetId ?? 'none')}, support: ${escapeMarkdown(session.supportId ?? 'none')}`,
    `- landing URL: ${landingUrl ? escapeMarkdown(landingUrl) : 'not recorded (started by the recovery sweep)'}`,
    `- referrer: ${escapeMarkdown(session.referrer ?? 'none')}`,
    `- flags: ${[session.bot && 'bot', session.duplicate && 'duplicate', session.nonNavigation && 'non-navigation'].filter(Boolean).join(', ') || 'none'}`,
    '',
    '**Sub-ids and link parameters**',
    ...(subIds.length ? subIds : ['- none']),
  ].join('\n');
  return { staticSummary: truncateBytes(summary, SUMMARY_MAX_BYTES), staticDetails: details.slice(0, DETAILS_MAX_CHARS) };
}

/** `publisher pub-1 · sale` and, in the details, the conversion and the URL without its query (secrets live there). */
export function deliveryMetadata(d: DeliveryRequest, event: string | null): WorkflowMetadata {
  const summary = `${d.target} ${d.targetId} · ${event ?? 're-send'}`;
  const details = [
    `**Delivery** ${escapeMarkdown(d.deliveryId)}`,
    `- conversion: ${escapeMarkdown(d.conversionId)}`,
    `- session: ${escapeMarkdown(d.sessionId)}`,
    `- URL: ${escapeMarkdown(d.url.split(/[?#]/)[0]!.slice(0, 500))} (query not shown)`,
  ].join('\n');
  return { staticSummary: truncateBytes(summary, SUMMARY_MAX_BYTES), staticDetails: details };
}

export function escapeMarkdown(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').replace(/[\\`*_{}[\]()#+\-.!|<>~&:]/g, (c) => `\\${c}`);
}

/** At most `max` bytes of UTF-8, cut on a character boundary. */
export function truncateBytes(s: string, max: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of s) {
    const n = ch.codePointAt(0)! < 0x80 ? 1 : ch.codePointAt(0)! < 0x800 ? 2 : ch.codePointAt(0)! < 0x10000 ? 3 : 4;
    if (bytes + n > max) break;
    bytes += n;
    out += ch;
  }
  return out;
}
