/** A registered portable device (执法记录仪) that pushes RTMP. Its push key is never stored, only its hash. */
export interface DeviceRecord {
  id: string;
  name: string;
  officer: string;
  badgeNumber: string;
  createdAt: string;
  disabled: boolean;
}

/** What `GET /api/devices` shows per device. */
export interface DeviceView extends DeviceRecord {
  /** A publisher is connected now. */
  live: boolean;
}

export interface DeviceInput {
  name: string;
  officer: string;
  badgeNumber: string;
}

/** `POST /api/devices`: the push URL carries the key, shown this once. */
export interface DeviceRegistered {
  id: string;
  pushUrl: string;
}

/** What a clerk sees of a device he may record into his session (`GET /api/devices/attachable`): no key, no history. */
export interface AttachableDevice {
  id: string;
  name: string;
  officer: string;
  badgeNumber: string;
  live: boolean;
  /** The open session that records it now, if any (it cannot be added to another). */
  inSession: string | null;
}
