import ipaddr from 'ipaddr.js';
import type { Principal } from './principal';

// Advertisers and publishers see where a visitor came from, not who it was (audit L7): IPv4 cut
// to its /24, IPv6 to its /48 (an IPv4-mapped IPv6 address counts as IPv4). Operators see it all.

export function truncateIp(ip: string): string {
  if (!ipaddr.isValid(ip)) return '';
  let addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  if (addr.kind() === 'ipv4') return `${addr.toByteArray().slice(0, 3).join('.')}.0`;
  const parts = (addr as ipaddr.IPv6).parts.slice(0, 3);
  return new ipaddr.IPv6([...parts, 0, 0, 0, 0, 0]).toString();
}

/** The visitor IP as this key may see it. */
export function visibleIp(ip: string | null | undefined, p: Principal): string | null {
  if (ip === null || ip === undefined) return null;
  return p.kind === 'operator' ? ip : truncateIp(ip);
}
