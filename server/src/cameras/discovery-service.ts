import type { AuditContext, AuditLog } from '../audit/audit-log.ts';
import { badRequest } from '../shared/errors.ts';
import type { CameraRepository } from './camera-repository.ts';
import { probeMulticast, probeUnicast } from './discovery.ts';
import type { DiscoveredDevice } from './camera-api.types.ts';

/**
 * ONVIF discovery on the admin's request only: unicast to the addresses given, or, when none are
 * given and an interface is configured, multicast on that interface (production). Never automatic.
 */
export class DiscoveryService {
  constructor(
    private readonly cameras: CameraRepository,
    private readonly audit: AuditLog,
    private readonly multicastInterface: string | undefined,
  ) {}

  async discover(by: AuditContext, request: { addresses?: string[]; timeoutMs: number }): Promise<DiscoveredDevice[]> {
    let found;
    if (request.addresses && request.addresses.length > 0) {
      found = await probeUnicast(request.addresses, { timeoutMs: request.timeoutMs });
    } else if (this.multicastInterface) {
      found = await probeMulticast({ interfaceAddress: this.multicastInterface, timeoutMs: request.timeoutMs });
    } else {
      throw badRequest('addresses_required', {
        en: 'Give the addresses to probe, or configure discovery.interface for multicast discovery.',
        zh: '请填写要探测的地址，或在配置中设置 discovery.interface 以使用组播发现。',
      });
    }
    const known = new Map(
      this.cameras
        .list()
        .filter((c) => c.source.kind === 'onvif')
        .map((c) => [hostAndPort((c.source as { url: string }).url), c.id]),
    );
    const devices = found.map((d) => ({
      address: d.address,
      xaddrs: d.xaddrs,
      name: d.name ?? null,
      hardware: d.hardware ?? null,
      endpoint: d.endpoint,
      knownCameraId: d.xaddrs.map((x) => known.get(hostAndPort(x))).find((v) => v !== undefined) ?? null,
    }));
    this.audit.record(by, 'camera.discovery', null, {
      mode: request.addresses?.length ? 'unicast' : 'multicast',
      probed: request.addresses?.length ?? null,
      found: devices.length,
    });
    return devices;
  }
}

function hostAndPort(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return url;
  }
}
