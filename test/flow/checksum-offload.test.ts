import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appEventsOf } from '../support/app-events.js';

const CAPTURE = join(import.meta.dirname, '../fixtures/real-captures/nfs-over-ipv4-fragments.pcap');

describe('a real capture taken on a host whose NIC fills in checksums', () => {
  it('analyses every NFS call the host sent, its checksums left to the NIC included', async () => {
    const events = await appEventsOf(CAPTURE);
    const count = (type: string) => events.filter((e) => e.event.type === type).length;
    // tshark -Y 'rpc.msgtyp==0' finds 508 calls; 318 of them with the checksum the client left to its NIC.
    expect(count('rpc.call')).toBe(508);
    expect(count('nfs.call')).toBe(508);
  });
});
