// Shapes of the JSON the server answers (see docs/api.md and CONTRACTS.md).
import type { CameraState } from '../../../server/src/realtime/events.ts';

export type { CameraState };

export type Role = 'admin' | 'security' | 'auditor' | 'clerk' | 'supervisor' | 'legal';
export const ALL_ROLES: readonly Role[] = ['clerk', 'supervisor', 'legal', 'admin', 'security', 'auditor'];
/** Roles the security officer may assign (casework roles). */
export const CASEWORK_ROLES: readonly Role[] = ['clerk', 'supervisor', 'legal'];

export interface Health {
  status: 'ok';
  version: string;
  uptimeS: number;
  demo?: boolean;
}

export interface Me {
  username: string;
  displayName: string;
  roles: string[];
  rooms: string[];
  mustChangePassword: boolean;
}

export interface Camera {
  id: string;
  name: string;
  role: string;
  state: CameraState;
}

export interface Room {
  id: string;
  name: string;
  kind: 'hearing' | 'interview';
  cameras: Camera[];
}

export interface ChecklistRow {
  item: number;
  category: string;
  project: string;
  matter: string;
  place: string;
  timeLimit: string;
  department: string;
  recorder: string;
  startWhen: string;
  process: string;
  endWhen: string;
  method: string;
  remarks: string;
}

export interface Procedure {
  id: string;
  name: string;
  items: number[];
}

export interface User {
  id: number | string;
  username: string;
  displayName: string;
  roles: string[];
  rooms: string[];
  disabled: boolean;
  mustChangePassword: boolean;
  createdAt: string;
}

export interface CreatedUser {
  id: number | string;
  username: string;
  initialPassword: string;
}

export type {
  AuditEntry,
  AuditPage,
  AuditVerification as AuditVerify,
} from '../../../server/src/audit/audit.types.ts';

export type {
  CameraView as AdminCamera,
  CameraProbeView,
  CameraSourceView,
  DiscoveredDevice,
} from '../../../server/src/cameras/camera-api.types.ts';

/** The body of POST /api/cameras (without `id` for PUT /api/cameras/:id). */
export interface CameraInput {
  id?: string;
  name: string;
  roomId: string | null;
  role: string;
  enabled: boolean;
  onvif?: { url: string; username: string; password?: string };
  rtsp?: { mainUrl: string; subUrl?: string; username?: string; password?: string };
}

