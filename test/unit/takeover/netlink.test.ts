import assert from 'node:assert/strict';
import { ackError, addressMessage } from '../../../src/takeover/netlink';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('takeover/netlink: RTM_NEWADDR / RTM_DELADDR messages', () => {
  it('IPv4 add with broadcast and label, byte by byte', () => {
    const m = addressMessage(
      'add',
      { address: '198.18.0.10', family: 4, prefixLength: 24, device: 'eth0', label: 'eth0:1' },
      7,
      0x01020304,
    );
    assert.equal(
      hex(m),
      [
        '3c000000', // nlmsg_len 60
        '1400', // RTM_NEWADDR 20
        '0506', // flags REQUEST|ACK|EXCL|CREATE = 0x605
        '04030201', // seq
        '00000000', // pid
        '02', // AF_INET
        '18', // prefixlen 24
        '00', // flags
        '00', // scope universe
        '07000000', // ifindex 7
        '0800' + '0200' + 'c612000a', // IFA_LOCAL
        '0800' + '0100' + 'c612000a', // IFA_ADDRESS
        '0800' + '0400' + 'c61200ff', // IFA_BROADCAST 198.18.0.255
        '0b00' + '0300' + '657468303a3100' + '00', // IFA_LABEL "eth0:1\0" padded to 4
      ].join(''),
    );
  });

  it('IPv6 add with NODAD (ifa_flags and IFA_FLAGS), no label or broadcast', () => {
    const m = addressMessage(
      'add',
      { address: '2001:db8::10', family: 6, prefixLength: 64, device: 'eth0', label: 'x' },
      3,
      1,
    );
    assert.equal(m.readUInt16LE(4), 20);
    assert.equal(m[16], 10); // AF_INET6
    assert.equal(m[17], 64);
    assert.equal(m[18], 0x02); // IFA_F_NODAD
    assert.equal(
      hex(m.subarray(24)),
      '1400' +
        '0200' +
        '20010db8000000000000000000000010' +
        '1400' +
        '0100' +
        '20010db8000000000000000000000010' +
        '0800' +
        '0800' +
        '02000000',
    );
    assert.equal(m.readUInt32LE(0), m.length);
  });

  it('delete: RTM_DELADDR with REQUEST|ACK only; /32 gets no broadcast', () => {
    const m = addressMessage(
      'del',
      { address: '198.18.1.1', family: 4, prefixLength: 32, device: 'eth1' },
      2,
      9,
    );
    assert.equal(m.readUInt16LE(4), 21);
    assert.equal(m.readUInt16LE(6), 0x5);
    assert.equal(m.length, 16 + 8 + 8 + 8);
  });

  it('broadcast for odd prefixes', () => {
    const brd = (p: number) => {
      const m = addressMessage(
        'add',
        { address: '198.18.0.10', family: 4, prefixLength: p, device: 'e' },
        1,
        1,
      );
      return [...m.subarray(44, 48)].join('.');
    };
    assert.equal(brd(20), '198.18.15.255');
    assert.equal(brd(16), '198.18.255.255');
    assert.equal(brd(30), '198.18.0.11');
  });

  it('rejects a family mismatch or a bad prefix', () => {
    assert.throws(
      () => addressMessage('add', { address: '198.18.0.10', family: 6, prefixLength: 24, device: 'e' }, 1, 1),
      /not IPv6/,
    );
    assert.throws(
      () => addressMessage('add', { address: '198.18.0.10', family: 4, prefixLength: 33, device: 'e' }, 1, 1),
      /bad prefix/,
    );
  });

  it('ackError finds the NLMSG_ERROR for our sequence number', () => {
    const msg = (seq: number, err: number) => {
      const b = Buffer.alloc(36);
      b.writeUInt32LE(36, 0);
      b.writeUInt16LE(2, 4);
      b.writeUInt32LE(seq, 8);
      b.writeInt32LE(-err, 16);
      return b;
    };
    const buf = Buffer.concat([msg(5, 0), msg(6, 17)]);
    assert.equal(ackError(buf, buf.length, 6), 17);
    assert.equal(ackError(buf, buf.length, 5), 0);
    assert.equal(ackError(buf, buf.length, 7), undefined);
    assert.equal(ackError(buf, 10, 5), undefined);
  });
});
