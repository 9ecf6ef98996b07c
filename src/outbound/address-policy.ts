import ipaddr from 'ipaddr.js';

// Where outbound postbacks and provider notifications may go: the public internet, plus what the
// operator allows. Used at configuration time (a clear 400) and at connect time (the address
// actually connected to, so DNS rebinding and redirects cannot get around it).

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Cidr = [Address, number];

// Instance metadata services hand out the machine's credentials: refused whatever is allowed.
// AWS (IPv4, IPv6, ECS task role, EKS pod identity), GCP, Azure (IMDS and WireServer), Alibaba,
// Oracle Cloud, OpenStack and DigitalOcean use these.
const METADATA: Cidr[] = [
  '169.254.169.254/32',
  '169.254.170.2/32',
  '169.254.170.23/32',
  '169.254.169.123/32',
  '168.63.129.16/32',
  '100.100.100.200/32',
  '192.0.0.192/32',
  'fd00:ec2::254/128',
  'fd00:ec2::23/128',
  'fd00:ec2::123/128',
  'fd20:ce::254/128',
].map((c) => ipaddr.parseCIDR(c));

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

const RANGE_LABEL: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address (100.64.0.0/10)',
  private: 'a private address (RFC 1918)',
  reserved: 'a reserved address',
  uniqueLocal: 'a unique local address (fc00::/7)',
  deprecatedSiteLocal: 'a site-local address',
};

// Names that only mean something inside a private network.
const INTERNAL_SUFFIXES = ['.localhost', '.local', '.localdomain', '.internal', '.intranet', '.lan', '.home.arpa', '.corp'];

function parseAddress(ip: string): Address | null {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const zoneless = bare.replace(/%.*$/, '');
  return ipaddr.isValid(zoneless) ? ipaddr.parse(zoneless) : null;
}

function v4FromWords(hi: number, lo: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}

/** The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), with the encoding's name. */
function embeddedIPv4(addr: ipaddr.IPv6): [string, ipaddr.IPv4] | null {
  const p = addr.parts;
  switch (addr.range()) {
    case 'ipv4Mapped':
      return ['IPv4-mapped', addr.toIPv4Address()];
    case 'rfc6145':
      return ['IPv4-translated', v4FromWords(p[6]!, p[7]!)];
    case 'rfc6052':
      return ['NAT64', v4FromWords(p[6]!, p[7]!)];
    case '6to4':
      return ['6to4', v4FromWords(p[1]!, p[2]!)];
    default:
      return null;
  }
}

function isMetadata(addr: Address): boolean {
  const candidates: Address[] = [addr];
  if (addr.kind() === 'ipv6') {
    const v4 = embeddedIPv4(addr as ipaddr.IPv6);
    if (v4) candidates.push(v4[1]);
  }
  return candidates.some((a) => METADATA.some(([range, bits]) => range.kind() === a.kind() && a.match(range, bits)));
}

/** Why an address is not on the public internet, or null when it is. */
function nonPublic(addr: Address): string | null {
  if (addr.kind() === 'ipv4') {
    const range = addr.range();
    return range === 'unicast' ? null : (RANGE_LABEL[range] ?? `a special-purpose address (${range})`);
  }
  const v6 = addr as ipaddr.IPv6;
  const range = v6.range();
  if (range === 'teredo') return 'a Teredo tunnel address';
  const embedded = embeddedIPv4(v6);
  if (embedded) {
    const inner = nonPublic(embedded[1]);
    return inner ? `the ${embedded[0]} form of ${embedded[1].toString()}, ${inner}` : null;
  }
  if (range !== 'unicast') return RANGE_LABEL[range] ?? `a special-purpose address (${range})`;
  return v6.match(GLOBAL_UNICAST_V6) ? null : 'not a global unicast address';
}

export interface OutboundAllowances {
  /** Host names (exact, or `*.example.org` for subdomains) whose addresses may be private. */
  hosts: readonly string[];
  /** CIDRs or single addresses that may be connected to although not public. */
  networks: readonly string[];
}

export class OutboundPolicy {
  private readonly hosts: string[];
  private readonly networks: Cidr[];

  constructor(allow: OutboundAllowances = { hosts: [], networks: [] }) {
    this.hosts = allow.hosts.map((h) => h.toLowerCase().replace(/\.$/, ''));
    this.networks = allow.networks.map((n) => {
      if (n.includes('/')) return ipaddr.parseCIDR(n);
      const a = ipaddr.parse(n);
      return [a, a.kind() === 'ipv4' ? 32 : 128];
    });
  }

  static fromConfig(config: { OUTBOUND_ALLOW_HOSTS: string[]; OUTBOUND_ALLOW_NETWORKS: string[] }): OutboundPolicy {
    return new OutboundPolicy({ hosts: config.OUTBOUND_ALLOW_HOSTS, networks: config.OUTBOUND_ALLOW_NETWORKS });
  }

  /** Why an allowed-network entry is unusable, or null (for config validation). */
  static checkNetwork(entry: string): string | null {
    if (entry.includes('/') ? ipaddr.isValidCIDR(entry) : ipaddr.isValid(entry)) return null;
    return `"${entry}" is not an IP address or CIDR`;
  }

  private hostAllowed(host: string): boolean {
    return this.hosts.some((h) => (h.startsWith('*.') ? host.endsWith(h.slice(1)) : host === h));
  }

  private networkAllowed(addr: Address): boolean {
    const a = addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() ? (addr as ipaddr.IPv6).toIPv4Address() : addr;
    return this.networks.some(([range, bits]) => range.kind() === a.kind() && a.match(range, bits));
  }

  /**
   * Why connecting to this address is refused, or null. `host` is the name it was resolved from:
   * an allowed name may resolve to private addresses. Metadata addresses are always refused.
   */
  addressProblem(ip: string, host?: string): string | null {
    const addr = parseAddress(ip);
    if (!addr) return `${ip} is not an IP address`;
    const shown = addr.toString();
    if (isMetadata(addr)) return `${shown} is a cloud metadata address`;
    if (this.networkAllowed(addr) || (host !== undefined && this.hostAllowed(host))) return null;
    const why = nonPublic(addr);
    return why ? `${shown} is ${why}` : null;
  }

  /** Why a URL's host (a WHATWG `URL.hostname`: IPv4 dotted, `[IPv6]` or a name) is refused, or null. */
  hostProblem(hostname: string): string | null {
    const host = hostname.toLowerCase().replace(/\.$/, '');
    if (host.startsWith('[') || ipaddr.IPv4.isValidFourPartDecimal(host)) return this.addressProblem(host);
    if (this.hostAllowed(host)) return null;
    if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is this machine`;
    if (!host.includes('.')) return `"${host}" is a single-label name, which only resolves inside a private network`;
    const suffix = INTERNAL_SUFFIXES.find((s) => host.endsWith(s));
    if (suffix) return `${host} is an internal name (${suffix})`;
    return null;
  }

  /** Why a request to this URL is refused before any connection, or null. Any port is allowed. */
  urlProblem(url: URL): string | null {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${url.protocol} is not http or https`;
    if (url.username || url.password) return 'credentials in the URL are not sent';
    return this.hostProblem(url.hostname);
  }
}
