import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { networkInterfaces } from 'node:os';
import { chooseNetInterface, defaultRouteInterface, type NetSource } from '../../src/identity/mac.js';

const ROUTES = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
wlan0\t00000000\t0102A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
`;

function source(p: Partial<NetSource> & { macs: Record<string, string>; physical?: string[] }): NetSource {
  return {
    routeTable: () => undefined,
    sysInterfaces: () => Object.keys(p.macs),
    sysMac: (i) => p.macs[i],
    isPhysical: (i) => (p.physical ?? Object.keys(p.macs)).includes(i),
    osInterfaces: () => ({ wlan0: [{ address: '192.168.2.126', netmask: '255.255.255.0', family: 'IPv4', mac: p.macs.wlan0 ?? '', internal: false, cidr: null }] }) as ReturnType<typeof networkInterfaces>,
    ...p,
  };
}

test('the default route with the lowest metric wins', () => {
  assert.equal(defaultRouteInterface(ROUTES), 'eth0');
  assert.equal(defaultRouteInterface('Iface\tDestination\n'), undefined);
  const src = source({ routeTable: () => ROUTES, macs: { eth0: 'B8:27:EB:71:01:46', wlan0: '7c:dd:90:82:75:13' } });
  assert.deepEqual(chooseNetInterface(src), { iface: 'eth0', mac: 'b8:27:eb:71:01:46', ip: undefined });
});

test('without a default route: lowest-named physical interface, virtual ones skipped', () => {
  const src = source({ macs: { wlan0: '7c:dd:90:82:75:13', docker0: '02:42:ac:11:00:02', lo: '00:00:00:00:00:00', eth1: '00:11:22:33:44:55', veth12: '66:55:44:33:22:11' }, physical: ['wlan0', 'eth1'] });
  assert.equal(chooseNetInterface(src)?.iface, 'eth1');
  // Same answer every time (deterministic), whatever order the kernel lists them in.
  const shuffled = { ...src, sysInterfaces: () => ['wlan0', 'veth12', 'eth1', 'lo', 'docker0'] };
  assert.equal(chooseNetInterface(shuffled)?.iface, 'eth1');
});

test('the configured interface overrides, and its IPv4 address is reported', () => {
  const src = source({ routeTable: () => ROUTES, macs: { eth0: 'b8:27:eb:71:01:46', wlan0: '7c:dd:90:82:75:13' } });
  assert.deepEqual(chooseNetInterface(src, 'wlan0'), { iface: 'wlan0', mac: '7c:dd:90:82:75:13', ip: '192.168.2.126' });
  assert.equal(chooseNetInterface(src, 'eth9'), undefined);
});
