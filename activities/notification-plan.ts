import type { Logger } from '../src/log';
import { conversionMacroValues, fillUrl } from '../src/domain/macros';
import { redactUrl } from '../src/outbound/redact-url';
import type { DeliveryRequest, SessionSnapshot } from '../src/domain/session';
import type { ConfigCache } from '../src/persistence/config-cache';
import { deliveries } from '../src/persistence/models/delivery';
import type { ConversionRecord } from '../src/persistence/models/conversion';

/**
 * The outbound notifications one conversion (or one of its status changes) fires: the publisher's
 * postback for that event (or its global one) and every provider's notification. Ids are derived
 * from the conversion and the notification number, so a retried activity plans the same ids.
 */
export async function planNotifications(
  cache: ConfigCache,
  log: Logger,
  session: SessionSnapshot,
  conversion: ConversionRecord,
  /** 1 for the conversion, 2, 3… for the session's status updates, a request id for a decision after it closed. */
  notification: number | string,
): Promise<DeliveryRequest[]> {
  const targets: { target: DeliveryRequest['target']; targetId: string; template: string }[] = [];
  const publisher = await cache.publishers.get(session.publisherId);
  const publisherUrl =
    publisher?.postbackUrls.find((p) => p.event === conversion.event)?.url ?? publisher?.postbackUrl ?? null;
  if (publisher && publisherUrl) targets.push({ target: 'publisher', targetId: publisher._id, template: publisherUrl });

  for (const providerId of new Set(Object.values(session.providers).filter((p): p is string => !!p))) {
    const provider = await cache.providers.get(providerId);
    if (provider?.notificationUrl && provider.status === 'active') {
      targets.push({ target: 'provider', targetId: provider._id, template: provider.notificationUrl });
    }
  }

  const values = conversionMacroValues(
    session,
    {
      event: conversion.event,
      txid: conversion.txid,
      amountMinor: conversion.amountMinor,
      amountCurrency: conversion.amountCurrency,
      payoutMinor: conversion.payoutMinor,
      currency: conversion.currency,
      status: conversion.status,
      conversionId: conversion._id,
    },
  );

  const planned: DeliveryRequest[] = [];
  for (const t of targets) {
    const deliveryId = `dlv-${conversion._id}-${t.target}-${t.targetId}-${notification}`;
    const filled = fillUrl(t.template, values);
    if (filled.ok) {
      planned.push({ deliveryId, conversionId: conversion._id, sessionId: session.sessionId, target: t.target, targetId: t.targetId, url: filled.url });
      continue;
    }
    // A broken template is a configuration error: log it where the deliveries are looked at.
    log.warn({ deliveryId, template: redactUrl(t.template), reason: filled.reason }, 'postback template unusable');
    await deliveries().replaceOne(
      { _id: `${deliveryId}#0` },
      {
        deliveryId, conversionId: conversion._id, sessionId: session.sessionId, target: t.target, targetId: t.targetId,
        url: t.template, attempt: 0, statusCode: null, latencyMs: 0, error: `template: ${filled.reason}`,
        outcome: 'given_up', at: new Date(),
      },
      { upsert: true },
    );
  }
  return planned;
}
