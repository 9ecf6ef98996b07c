import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

const compiled = new Map<string, Range[]>();

function compile(entries: readonly string[]): Range[] {
  const key = entries.join(',');
  let ranges = compiled.get(key);
  if (!ranges) {
    ranges = entries.flatMap((e): Range[] => {
      try {
        if (e.includes('/')) return [ipaddr.parseCIDR(e)];
        const addr = ipaddr.process(e);
        return [[addr, addr.kind() === 'ipv4' ? 32 : 128]];
      } catch {
        return []; // an unparsable entry allows nothing
      }
    });
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(key, ranges);
  }
  return ranges;
}

/** True when the allowlist is empty or holds the address (IPv4-mapped IPv6 counts as IPv4). */
export function ipAllowed(ip: string, allowlist: readonly string[] | null | undefined): boolean {
  if (!allowlist?.length) return true;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip);
  } catch {
    return false;
  }
  return compile(allowlist).some(([range, bits]) => range.kind() === addr.kind() && addr.match(range, bits));
}
