import assert from 'node:assert/strict';
import {
  canonicalAddress,
  canonicalIP,
  ipFamily,
  isMulticast,
  netmaskToPrefix,
  prefixToNetmask,
} from '../../../src/lib/addr.js';

describe('lib/addr: the strict forms a config accepts', () => {
  it('canonicalIP: dotted quads as written, IPv6 as RFC 5952, everything else undefined', () => {
    assert.equal(canonicalIP('198.18.0.1'), '198.18.0.1');
    assert.equal(canonicalIP('255.255.255.255'), '255.255.255.255');
    assert.equal(canonicalIP('2001:0002:0000:0000:0000:0000:0000:0001'), '2001:2::1');
    assert.equal(canonicalIP('2001:2:0:1:0:0:0:1'), '2001:2:0:1::1', 'the longer zero run is compressed');
    assert.equal(canonicalIP('2001:2:0:0:1:0:0:1'), '2001:2::1:0:0:1', 'the first of equal runs');
    assert.equal(canonicalIP('2001:2:1:1:1:1:0:1'), '2001:2:1:1:1:1:0:1', 'a single zero group stays');
    assert.equal(canonicalIP('FF02::1'), 'ff02::1');
    for (const bad of [
      '198.18.0.010',
      '198.18.0.256',
      '198.18.0',
      '0x1.2.3.4',
      ' 198.18.0.1',
      'fe80::1%eth0',
      'host',
      '',
    ])
      assert.equal(canonicalIP(bad), undefined, bad);
  });

  it('canonicalAddress is canonicalIP that hands back what is not an address', () => {
    assert.equal(canonicalAddress('2001:2:0::1'), '2001:2::1');
    assert.equal(canonicalAddress('not:an:address'), 'not:an:address');
    assert.equal(canonicalAddress('198.18.0.010'), '198.18.0.010');
  });

  it('ipFamily, isMulticast, netmask ↔ prefix length', () => {
    assert.equal(ipFamily('198.18.0.1'), 4);
    assert.equal(ipFamily('2001:2::1'), 6);
    assert.equal(ipFamily('198.18.0.01'), undefined);
    assert.ok(isMulticast('224.0.0.81') && isMulticast('239.255.255.255') && isMulticast('ff02::1'));
    assert.ok(!isMulticast('240.0.0.1') && !isMulticast('223.255.255.255') && !isMulticast('2001:2::1'));
    assert.equal(netmaskToPrefix('255.255.255.0'), 24);
    assert.equal(netmaskToPrefix('255.255.255.255'), 32);
    assert.equal(netmaskToPrefix('0.0.0.0'), 0);
    assert.equal(netmaskToPrefix('255.0.255.0'), undefined, 'not contiguous');
    assert.equal(netmaskToPrefix('ffff::'), undefined);
    assert.equal(prefixToNetmask(20), '255.255.240.0');
  });
});
