// The add/edit camera form's draft and its translation into the API body. The password is write-only:
// the draft starts empty, and an empty password on edit is left out of the body (keep the stored one).
import type { AdminCamera, CameraInput, DiscoveredDevice } from './types.ts';

export interface CameraDraft {
  id: string;
  name: string;
  /** '' for no room. */
  roomId: string;
  role: string;
  enabled: boolean;
  kind: 'onvif' | 'rtsp';
  onvifUrl: string;
  onvifUser: string;
  rtspMain: string;
  rtspSub: string;
  rtspUser: string;
  password: string;
}

/** Positions offered as suggestions; the field takes any text. */
export const ROLE_SUGGESTIONS = ['全景', '主持人', '当事人', '被询问人', '询问人', '书记员', '证人', '特写'] as const;

export function emptyDraft(roomId = ''): CameraDraft {
  return { id: '', name: '', roomId, role: '', enabled: true, kind: 'onvif', onvifUrl: '', onvifUser: '', rtspMain: '', rtspSub: '', rtspUser: '', password: '' };
}

export function draftFromCamera(c: AdminCamera): CameraDraft {
  const d = emptyDraft(c.roomId ?? '');
  d.id = c.id;
  d.name = c.name;
  d.role = c.role;
  d.enabled = c.enabled;
  if (c.source.kind === 'onvif') {
    d.kind = 'onvif';
    d.onvifUrl = c.source.url;
    d.onvifUser = c.source.username;
  } else {
    d.kind = 'rtsp';
    d.rtspMain = c.source.mainUrl;
    d.rtspSub = c.source.subUrl ?? '';
    d.rtspUser = c.source.username ?? '';
  }
  return d;
}

/** A lowercase id the API accepts (`^[a-z0-9][a-z0-9-]{0,62}$`), unique among `taken`. */
export function suggestId(base: string, taken: ReadonlySet<string>): string {
  let slug = base
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  if (!/^[a-z0-9]/.test(slug)) slug = `cam-${slug}`.replace(/-+$/, '');
  let id = slug;
  for (let n = 2; taken.has(id); n++) id = `${slug}-${n}`;
  return id;
}

export function draftFromDevice(device: DiscoveredDevice, taken: ReadonlySet<string>): CameraDraft {
  const d = emptyDraft();
  const host = device.address.replace(/:\d+$/, '');
  d.kind = 'onvif';
  d.onvifUrl = device.xaddrs[0] ?? '';
  d.name = device.name ?? device.hardware ?? host;
  d.id = suggestId(`cam-${host}`, taken);
  return d;
}

export function toInput(d: CameraDraft, create: boolean): CameraInput {
  const trim = (s: string) => s.trim();
  const input: CameraInput = {
    name: trim(d.name),
    roomId: d.roomId === '' ? null : d.roomId,
    role: trim(d.role),
    enabled: d.enabled,
  };
  if (create) input.id = trim(d.id);
  if (d.kind === 'onvif') {
    input.onvif = { url: trim(d.onvifUrl), username: trim(d.onvifUser), ...(d.password ? { password: d.password } : {}) };
  } else {
    input.rtsp = {
      mainUrl: trim(d.rtspMain),
      ...(trim(d.rtspSub) ? { subUrl: trim(d.rtspSub) } : {}),
      ...(trim(d.rtspUser) ? { username: trim(d.rtspUser) } : {}),
      ...(d.password ? { password: d.password } : {}),
    };
  }
  return input;
}

/** The form fields a server message names (`rtsp.mainUrl: …`), for marking them invalid. */
export function fieldsNamed(message: string, code: string): Set<string> {
  const fields = new Set<string>();
  for (const f of ['id', 'name', 'roomId', 'role', 'enabled', 'onvif.url', 'onvif.username', 'onvif.password', 'rtsp.mainUrl', 'rtsp.subUrl', 'rtsp.username', 'rtsp.password']) {
    if (new RegExp(`(^|[\\s（(；;:：])${f.replace('.', '\\.')}\\s*:`).test(message)) fields.add(f);
  }
  if (/\bonvif\s*:/.test(message)) fields.add('onvif.url');
  if (/\brtsp\s*:/.test(message)) fields.add('rtsp.mainUrl');
  if (code === 'camera_exists') fields.add('id');
  if (code === 'unknown_room') fields.add('roomId');
  return fields;
}
