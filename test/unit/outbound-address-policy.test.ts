import { ConfigError, loadConfig } from '../../src/config';
import { OutboundPolicy } from '../../src/outbound/address-policy';

const strict = new OutboundPolicy();

describe('OutboundPolicy.addressProblem', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique local'],
    ['fd12:3456::1', 'unique local'],
    ['ff02::1', 'multicast'],
    ['fec0::1', 'site-local'],
    ['2001:db8::1', 'reserved'],
    ['::ffff:127.0.0.1', 'IPv4-mapped form of 127.0.0.1, a loopback'],
    ['::ffff:7f00:1', 'IPv4-mapped form of 127.0.0.1, a loopback'],
    ['::ffff:10.0.0.1', 'IPv4-mapped form of 10.0.0.1, a private'],
    ['64:ff9b::7f00:1', 'NAT64 form of 127.0.0.1, a loopback'],
    ['64:ff9b::192.168.0.1', 'NAT64 form of 192.168.0.1, a private'],
    ['2002:7f00:1::', '6to4 form of 127.0.0.1, a loopback'],
    ['2002:a00:1::1', '6to4 form of 10.0.0.1, a private'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
    ['::7f00:1', 'not a global unicast'],
    ['4000::1', 'not a global unicast'],
  ])('refuses %s (%s)', (ip, why) => {
    expect(strict.addressProblem(ip)).toContain(why);
  });

  it.each(['93.184.215.14', '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '2a00:1450:4007:80b::200e', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])(
    'accepts the public address %s',
    (ip) => {
      expect(strict.addressProblem(ip)).toBeNull();
    },
  );

  it.each(['169.254.169.254', '169.254.170.2', '100.100.100.200', '168.63.129.16', 'fd00:ec2::254', '::ffff:169.254.169.254', '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::1'])(
    'refuses the metadata address %s, whatever is allowed',
    (ip) => {
      const open = new OutboundPolicy({ hosts: ['*.example', 'metadata.example'], networks: ['0.0.0.0/0', '::/0'] });
      expect(strict.addressProblem(ip)).toContain('metadata');
      expect(open.addressProblem(ip, 'metadata.example')).toContain('cloud metadata address');
    },
  );

  it('allows the configured networks, IPv4-mapped included, and nothing more', () => {
    const policy = new OutboundPolicy({ hosts: [], networks: ['127.0.0.0/8', '10.20.0.0/16', 'fd00:1::/32', '192.168.7.7'] });
    expect(policy.addressProblem('127.0.0.1')).toBeNull();
    expect(policy.addressProblem('::ffff:127.0.0.1')).toBeNull();
    expect(policy.addressProblem('10.20.3.4')).toBeNull();
    expect(policy.addressProblem('fd00:1::5')).toBeNull();
    expect(policy.addressProblem('192.168.7.7')).toBeNull();
    expect(policy.addressProblem('192.168.7.8')).toContain('private');
    expect(policy.addressProblem('10.21.0.1')).toContain('private');
    expect(policy.addressProblem('::1')).toContain('loopback');
  });

  it('lets an allowed name resolve to private addresses, not other names', () => {
    const policy = new OutboundPolicy({ hosts: ['sink', '*.corp.example'], networks: [] });
    expect(policy.addressProblem('10.0.0.5', 'sink')).toBeNull();
    expect(policy.addressProblem('10.0.0.5', 'a.b.corp.example')).toBeNull();
    expect(policy.addressProblem('10.0.0.5', 'corp.example')).toContain('private');
    expect(policy.addressProblem('10.0.0.5', 'evilcorp.example')).toContain('private');
    expect(policy.addressProblem('10.0.0.5')).toContain('private');
  });

  it('refuses what is not an address', () => {
    expect(strict.addressProblem('not-an-ip')).toContain('not an IP address');
  });
});

describe('OutboundPolicy.hostProblem and urlProblem (as URL parsing normalises hosts)', () => {
  const host = (url: string) => strict.urlProblem(new URL(url));

  it.each([
    ['http://169.254.169.254/latest/meta-data/', 'metadata'],
    ['http://127.0.0.1:8233/api/v1/namespaces', 'loopback'],
    ['http://[::1]/', 'loopback'],
    ['http://2130706433/', 'loopback'],
    ['http://0x7f.1/', 'loopback'],
    ['http://017700000001/', 'loopback'],
    ['http://[::ffff:127.0.0.1]/', 'loopback'],
    ['http://100.64.0.1/', 'carrier-grade NAT'],
    ['http://mongodb:27017/', 'single-label'],
    ['http://temporal-ui:8080/', 'single-label'],
    ['http://localhost/', 'this machine'],
    ['http://LOCALHOST./', 'this machine'],
    ['http://app.localhost/', 'this machine'],
    ['http://metadata.google.internal/', 'internal name'],
    ['http://printer.local/', 'internal name'],
    ['http://user:pw@net.example/', 'credentials'],
    ['ftp://net.example/', 'not http'],
  ])('refuses %s (%s)', (url, why) => {
    expect(host(url)).toContain(why);
  });

  it.each(['https://net.example/pb?c=1', 'http://postback.partner.example:8080/x', 'https://8.8.8.8/', 'https://[2606:4700::1111]/'])('accepts %s', (url) => {
    expect(host(url)).toBeNull();
  });

  it('accepts allowed names and networks, never metadata', () => {
    const policy = new OutboundPolicy({ hosts: ['mongodb-sink', '*.svc.cluster'], networks: ['0.0.0.0/0'] });
    expect(policy.urlProblem(new URL('http://mongodb-sink:9000/'))).toBeNull();
    expect(policy.urlProblem(new URL('http://pb.svc.cluster/'))).toBeNull();
    expect(policy.urlProblem(new URL('http://127.0.0.1:9000/'))).toBeNull();
    expect(policy.urlProblem(new URL('http://169.254.169.254/'))).toContain('metadata');
    expect(policy.urlProblem(new URL('http://mongodb/'))).toContain('single-label');
  });

  it('validates allowed-network entries', () => {
    expect(OutboundPolicy.checkNetwork('10.0.0.0/8')).toBeNull();
    expect(OutboundPolicy.checkNetwork('::1')).toBeNull();
    expect(OutboundPolicy.checkNetwork('10.0.0.0/33')).toContain('not an IP address or CIDR');
    expect(OutboundPolicy.checkNetwork('intranet')).toContain('not an IP address or CIDR');
  });
});

describe('OUTBOUND_ALLOW_* settings', () => {
  it('are read as lists, empty by default', () => {
    expect(loadConfig({})).toMatchObject({ OUTBOUND_ALLOW_HOSTS: [], OUTBOUND_ALLOW_NETWORKS: [] });
    expect(loadConfig({ OUTBOUND_ALLOW_HOSTS: 'sink, *.corp.example', OUTBOUND_ALLOW_NETWORKS: '127.0.0.0/8,::1' })).toMatchObject({
      OUTBOUND_ALLOW_HOSTS: ['sink', '*.corp.example'],
      OUTBOUND_ALLOW_NETWORKS: ['127.0.0.0/8', '::1'],
    });
  });

  it('stop the start naming the variable and the bad entry', () => {
    expect(() => loadConfig({ OUTBOUND_ALLOW_NETWORKS: '10.0.0.0/8,intranet' })).toThrow(ConfigError);
    expect(() => loadConfig({ OUTBOUND_ALLOW_NETWORKS: '10.0.0.0/8,intranet' })).toThrow(/OUTBOUND_ALLOW_NETWORKS=.*"intranet" is not an IP address or CIDR/);
  });
});
