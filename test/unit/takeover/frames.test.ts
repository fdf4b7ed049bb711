import assert from 'node:assert/strict';
import { parseIPv4, parseIPv6 } from '../../../src/lib/addr';
import { parseMac } from '../../../src/takeover/addr';
import { ARP_FRAME_LENGTH, arpFrames, gratuitousArp } from '../../../src/takeover/arp';
import { icmpv6Checksum, NA_FRAME_LENGTH, unsolicitedNa } from '../../../src/takeover/ndp';

const MAC = parseMac('02:11:22:33:44:55');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('takeover/arp: gratuitous ARP frames', () => {
  it('request form: 42 bytes, broadcast, opcode 1, target MAC zero, sender = target IP = VIP', () => {
    const f = gratuitousArp('request', MAC, '198.18.0.10');
    assert.equal(f.length, ARP_FRAME_LENGTH);
    assert.equal(
      hex(f),
      [
        'ffffffffffff', // dst: broadcast
        '021122334455', // src: our MAC
        '0806', // ethertype ARP
        '0001', // htype Ethernet
        '0800', // ptype IPv4
        '06', // hlen
        '04', // plen
        '0001', // opcode request
        '021122334455', // sender MAC
        'c612000a', // sender IP 198.18.0.10
        '000000000000', // target MAC: zero
        'c612000a', // target IP = VIP
      ].join(''),
    );
  });

  it('reply form: opcode 2, target MAC = sender MAC (RFC 2002; Linux ignores a broadcast one)', () => {
    const f = gratuitousArp('reply', MAC, '198.18.1.1');
    assert.equal(f.length, 42);
    assert.equal(
      hex(f),
      'ffffffffffff' +
        '021122334455' +
        '0806' +
        '0001' +
        '0800' +
        '06' +
        '04' +
        '0002' +
        '021122334455' +
        'c6120101' +
        '021122334455' + // target MAC = sender MAC
        'c6120101',
    );
  });

  it('form both gives a request then a reply', () => {
    const frames = arpFrames('both', MAC, '198.18.0.10');
    assert.deepEqual(
      frames.map((f) => f.readUInt16BE(20)),
      [1, 2],
    );
    assert.equal(arpFrames('reply', MAC, '198.18.0.10').length, 1);
  });

  it('rejects a bad MAC or a non-IPv4 address, saying which', () => {
    assert.throws(
      () => gratuitousArp('request', new Uint8Array(5), '198.18.0.10'),
      /198\.18\.0\.10.*6 bytes/,
    );
    assert.throws(() => gratuitousArp('request', MAC, '2001:db8::1'), /not an IPv4 address/);
    assert.throws(() => gratuitousArp('request', MAC, '198.18.0.256'), /not an IPv4 address/);
  });
});

describe('takeover/ndp: unsolicited neighbour advertisement', () => {
  it('builds the 86-byte frame byte by byte with override set and a valid checksum', () => {
    const f = unsolicitedNa(MAC, '2001:db8::10');
    assert.equal(f.length, NA_FRAME_LENGTH);
    const expected = [
      '333300000001', // dst: all-nodes multicast MAC
      '021122334455', // src
      '86dd', // ethertype IPv6
      '60000000', // version 6, TC 0, flow 0
      '0020', // payload length 32
      '3a', // next header ICMPv6
      'ff', // hop limit 255
      '20010db8000000000000000000000010', // source = VIP
      'ff020000000000000000000000000001', // dst ff02::1
      '88', // type 136
      '00', // code
      'CSUM',
      '20000000', // R=0 S=0 O=1, reserved
      '20010db8000000000000000000000010', // target
      '02', // option: target link-layer address
      '01', // length 1 (8 bytes)
      '021122334455',
    ].join('');
    const csum = f.readUInt16BE(56);
    assert.equal(hex(f), expected.replace('CSUM', csum.toString(16).padStart(4, '0')));
    // The checksum verifies: summing again with the checksum in place gives 0 (ones' complement).
    assert.equal(icmpv6Checksum(parseIPv6('2001:db8::10')!, parseIPv6('ff02::1')!, f.subarray(54)), 0);
    // Known value (checked against tcpdump's "icmp6 sum ok" for the same MAC/target).
    assert.equal(csum, computeReference(f));
  });

  it('matches a frame tcpdump reported as "icmp6 sum ok" (checksum 0x71ac)', () => {
    const f = unsolicitedNa(parseMac('ae:32:3d:f0:9d:3e'), '2001:db8::10');
    assert.equal(f.readUInt16BE(56), 0x71ac);
  });

  it('router flag and a link-local source are honoured', () => {
    const f = unsolicitedNa(MAC, '2001:db8::10', { router: true, source: 'fe80::11:22ff:fe33:4455' });
    assert.equal(f[58], 0xa0);
    assert.equal(hex(f.subarray(22, 38)), 'fe800000000000000011' + '22fffe334455');
    assert.equal(icmpv6Checksum(f.subarray(22, 38), f.subarray(38, 54), f.subarray(54)), 0);
  });

  it('rejects IPv4 targets', () => {
    assert.throws(() => unsolicitedNa(MAC, '198.18.0.10'), /not an IPv6 address/);
  });
});

/** Straightforward RFC 1071 sum written independently of ndp.ts, over a copy with the checksum zeroed. */
function computeReference(frame: Buffer): number {
  const msg = Buffer.from(frame.subarray(54));
  msg.writeUInt16BE(0, 2);
  const pseudo = Buffer.concat([
    frame.subarray(22, 54),
    Buffer.from([0, 0, 0, msg.length, 0, 0, 0, 58]),
    msg,
  ]);
  let sum = 0;
  for (let i = 0; i < pseudo.length; i += 2) sum += pseudo.readUInt16BE(i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

describe('takeover/addr: parsing', () => {
  it('parses IPv4 strictly', () => {
    assert.deepEqual([...parseIPv4('198.18.0.10')!], [198, 18, 0, 10]);
    for (const bad of ['198.18.0', '198.18.0.10.1', '198.18.0.x', '1.2.3.1000', ''])
      assert.equal(parseIPv4(bad), undefined);
  });
  it('parses IPv6 forms', () => {
    assert.equal(hex(parseIPv6('::')!), '0'.repeat(32));
    assert.equal(hex(parseIPv6('::1')!), `${'0'.repeat(31)}1`);
    assert.equal(hex(parseIPv6('2001:db8::')!), `20010db8${'0'.repeat(24)}`);
    assert.equal(hex(parseIPv6('2001:db8:0:0:1:0:0:1')!), '20010db8000000000001000000000001');
    assert.equal(hex(parseIPv6('::ffff:198.18.0.10')!), '00000000000000000000ffffc612000a');
    for (const bad of ['1::2::3', '12345::', '1:2:3:4:5:6:7:8:9', 'g::1', '1:2:3:4:5:6:7::8', '::1.2.3']) {
      assert.equal(parseIPv6(bad), undefined, bad);
    }
  });
  it('parses MACs and says what is wrong', () => {
    assert.equal(hex(parseMac('AA-bb-cc-dd-ee-0f\n')), 'aabbccddee0f');
    assert.throws(() => parseMac('aa:bb:cc'), /not a MAC address/);
  });
});
