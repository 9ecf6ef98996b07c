import maxmind, { type Reader, type Response } from 'maxmind';

// Country from an mmdb file: by default the CC0 ip-location-db country database shipped on npm
// (no licence key needed); a MaxMind GeoIP2/GeoLite2 City or Country file works the same way.

type CountryRecord = Response & { country_code?: string; country?: { iso_code?: string } };

export const DEFAULT_GEOIP_DB = require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb');

export class GeoLookup {
  private constructor(private readonly reader: Reader<CountryRecord>) {}

  static async open(path: string = DEFAULT_GEOIP_DB): Promise<GeoLookup> {
    return new GeoLookup(await maxmind.open<CountryRecord>(path, { cache: { max: 10_000 } }));
  }

  /** ISO 3166 alpha-2, or null for private, unknown or malformed addresses. */
  country(ip: string): string | null {
    if (!maxmind.validate(ip)) return null;
    const rec = this.reader.get(ip);
    const code = rec?.country_code ?? rec?.country?.iso_code;
    return typeof code === 'string' && /^[A-Z]{2}$/.test(code) ? code : null;
  }
}
