import { z } from 'zod';

/**
 * The one configuration schema. Strict everywhere: an unknown key is an error, not a silent no-op.
 * Cross-field checks (ids unique, rooms reference existing cameras, secrets by reference outside demo
 * mode, demo bound to loopback) are in `validateConfig` below, so every problem names its key path.
 */

const id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected lowercase letters, digits and hyphens, e.g. "hearing-1"');

/** A secret: `env:NAME` (read from the environment at start-up) or, in demo mode only, a literal. */
const secret = z.string().min(1, 'expected a non-empty value or an env:NAME reference');

const onvifSource = z.strictObject({
  url: z.url({ message: 'expected the ONVIF device service URL, e.g. http://192.0.2.10/onvif/device_service' }),
  username: z.string().min(1),
  password: secret,
});

const rtspSource = z.strictObject({
  mainUrl: z.url({ message: 'expected an rtsp:// URL' }).refine((u) => u.startsWith('rtsp://'), 'expected an rtsp:// URL'),
  subUrl: z
    .url({ message: 'expected an rtsp:// URL' })
    .refine((u) => u.startsWith('rtsp://'), 'expected an rtsp:// URL')
    .optional(),
  username: z.string().min(1).optional(),
  password: secret.optional(),
});

const camera = z.strictObject({
  id,
  name: z.string().min(1),
  enabled: z.boolean().default(true),
  onvif: onvifSource.optional(),
  rtsp: rtspSource.optional(),
});

const room = z.strictObject({
  id,
  name: z.string().min(1),
  kind: z.enum(['hearing', 'interview']),
  cameras: z
    .array(
      z.strictObject({
        camera: id,
        /** The camera's position in the room: 全景, 主持人, 当事人, … */
        role: z.string().min(1),
      }),
    )
    .default([]),
});

/** How long a procedure's recordings are kept: for ever, or a number of years or days after the session ended. */
const retentionClass = z.union([
  z.literal('permanent'),
  z.strictObject({ years: z.number().int().min(0).max(200) }),
  z.strictObject({ days: z.number().int().min(0).max(73_000) }),
]);
export type RetentionClass = z.infer<typeof retentionClass>;

export const configSchema = z.strictObject({
  /** `demo` seeds demo users, allows literal secrets, shows a DEMO banner and binds loopback only. */
  mode: z.enum(['demo', 'production']).default('production'),
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
      /** Trust X-Forwarded-For from a reverse proxy on these addresses (express `trust proxy`). */
      trustProxy: z.union([z.boolean(), z.string()]).default(false),
      jsonBodyLimit: z.string().regex(/^\d+(kb|mb)$/, 'expected a size such as "100kb"').default('100kb'),
    })
    .default({ host: '127.0.0.1', port: 8080, trustProxy: false, jsonBodyLimit: '100kb' }),
  dataDir: z.string().min(1).default('./data'),
  auth: z
    .strictObject({
      /** A login session ends after this much inactivity. */
      idleTimeoutMinutes: z.number().int().min(5).max(24 * 60).default(120),
      /** …and at the latest this long after login. */
      maxSessionHours: z.number().int().min(1).max(72).default(12),
      passwordMinLength: z.number().int().min(8).max(128).default(10),
      loginRateLimit: z
        .strictObject({
          perUser: z.number().int().min(1).default(5),
          perAddress: z.number().int().min(1).default(20),
          windowMinutes: z.number().int().min(1).default(15),
        })
        .default({ perUser: 5, perAddress: 20, windowMinutes: 15 }),
    })
    .default({
      idleTimeoutMinutes: 120,
      maxSessionHours: 12,
      passwordMinLength: 10,
      loginRateLimit: { perUser: 5, perAddress: 20, windowMinutes: 15 },
    }),
  metrics: z
    .strictObject({
      /** Bearer token for scraping /metrics from another host; loopback needs none. */
      token: secret.optional(),
    })
    .default({}),
  /** How often cameras are checked and how long one check may take. */
  cameraHealth: z
    .strictObject({
      intervalS: z.number().int().min(2).max(3600).default(10),
      timeoutMs: z.number().int().min(200).max(60_000).default(5000),
    })
    .default({ intervalS: 10, timeoutMs: 5000 }),
  /** Recording: spool, pre-roll, segment length and the disk levels that protect it. */
  recording: z
    .strictObject({
      /** Seconds before `start` adopted into the session from the spool. */
      preRollS: z.number().int().min(0).max(120).default(10),
      segmentSeconds: z.number().int().min(1).max(10).default(2),
      /** Unadopted spool segments (never evidence) leave the spool after this long. */
      spoolRetentionS: z.number().int().min(30).max(86_400).default(300),
      disk: z
        .strictObject({
          warningGb: z.number().min(0).default(20),
          refuseGb: z.number().min(0).default(10),
          floorGb: z.number().min(0).default(2),
          checkIntervalS: z.number().min(0.5).max(600).default(15),
        })
        .default({ warningGb: 20, refuseGb: 10, floorGb: 2, checkIntervalS: 15 }),
    })
    .default({
      preRollS: 10,
      segmentSeconds: 2,
      spoolRetentionS: 300,
      disk: { warningGb: 20, refuseGb: 10, floorGb: 2, checkIntervalS: 15 },
    }),
  /**
   * The embedded node-media-server: RTMP ingest of portable devices and the FLV fallback of live
   * view. RTMP binds `rtmpHost` (127.0.0.1 by default); HTTP-FLV binds 127.0.0.1 only and reaches
   * browsers through the main port.
   */
  mediaServer: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** RTMP port (portable devices push here, the FLV publishers too); 0 picks a free one. */
      rtmpPort: z.number().int().min(0).max(65535).default(1935),
      /** Address the RTMP listener binds: a LAN address (or 0.0.0.0) so body cameras can push; loopback stays reachable for the server's own readers. */
      rtmpHost: z.union([z.ipv4(), z.ipv6()], { message: 'expected an IP address such as 127.0.0.1 or 192.168.1.10' }).default('127.0.0.1'),
      /** Host put in device push URLs (what a device dials); defaults to rtmpHost, required when that is a wildcard. */
      pushHost: z
        .string()
        .regex(/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$/, 'expected a host name or IP address a device can reach, e.g. 192.168.1.10')
        .optional(),
      /** node-media-server's HTTP-FLV port, internal (proxied by the main port); 0 picks a free one. */
      httpPort: z.number().int().min(0).max(65535).default(0),
      /** A camera's FLV publisher stops this long after its last viewer left. */
      flvIdleStopS: z.number().min(0).max(600).default(10),
      /** Validity of a signed FLV URL. */
      flvUrlTtlS: z.number().int().min(5).max(600).default(60),
    })
    .default({ enabled: true, rtmpPort: 1935, rtmpHost: '127.0.0.1', httpPort: 0, flvIdleStopS: 10, flvUrlTtlS: 60 }),
  /** ONVIF discovery: multicast on this interface address when the admin gives no addresses. */
  discovery: z.strictObject({ interface: z.ipv4().optional() }).default({}),
  /** Evidence: the integrity scrub re-hashes stored segments of sealed sessions this often (0: never). */
  evidence: z
    .strictObject({
      scrubIntervalS: z.number().int().min(0).max(30 * 86_400).default(86_400),
    })
    .default({ scrubIntervalS: 86_400 }),
  /** Body-camera file imports: the largest file accepted, the chunk size, and how long an abandoned upload's staging is kept. */
  imports: z
    .strictObject({
      maxBytes: z.number().int().min(1).default(16 * 1024 ** 3),
      chunkBytes: z.number().int().min(4096).max(64 * 1024 ** 2).default(8 * 1024 ** 2),
      stagingTtlS: z.number().int().min(60).max(30 * 86_400).default(86_400),
    })
    .default({ maxBytes: 16 * 1024 ** 3, chunkBytes: 8 * 1024 ** 2, stagingTtlS: 86_400 }),
  /**
   * Retention classes per procedure id (GET /api/procedures): `permanent`, `{ years: N }` or
   * `{ days: N }`, counted from the session's end. Hearings are permanent whatever is written here.
   */
  retention: z
    .strictObject({
      default: retentionClass.default({ years: 30 }),
      classes: z.record(z.string(), retentionClass).default({}),
    })
    .default({ default: { years: 30 }, classes: {} }),
  /** Live view over WebRTC (the werift worker). */
  live: z
    .strictObject({
      /** STUN/TURN servers for both peers; empty on a LAN (the default). */
      iceServers: z
        .array(
          z.strictObject({
            urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
            username: z.string().min(1).optional(),
            credential: secret.optional(),
          }),
        )
        .default([]),
      /** Addresses the worker binds and advertises as ICE host candidates. Loopback only: remote candidates that are not loopback are dropped. */
      candidateAddresses: z.array(z.union([z.ipv4(), z.ipv6()])).min(1).default(['127.0.0.1']),
    })
    .default({ iceServers: [], candidateAddresses: ['127.0.0.1'] }),
  /** Simulated cameras started with the server (the demo), on loopback. */
  simulator: z
    .strictObject({
      cameras: z.number().int().min(1).max(64),
      /** Camera i binds the loopback address i after this one (127.0.0.11, 127.0.0.12, …). */
      firstAddress: z
        .ipv4()
        .refine((a) => a.startsWith('127.'), 'expected a loopback address such as 127.0.0.11')
        .default('127.0.0.11'),
      /** ONVIF device services on consecutive ports from here, RTSP servers from rtspBasePort. */
      onvifBasePort: z.number().int().min(1).max(65535),
      rtspBasePort: z.number().int().min(1).max(65535),
      username: z.string().min(1),
      password: secret,
      audio: z.enum(['aac', 'pcma']).default('aac'),
      /** Serve this pre-encoded clip instead of encoding a live test pattern. */
      loop: z.string().min(1).optional(),
    })
    .optional(),
  cameras: z.array(camera).default([]),
  rooms: z.array(room).default([]),
});

export type Config = z.infer<typeof configSchema>;
export type CameraConfig = z.infer<typeof camera>;
export type RoomConfig = z.infer<typeof room>;
