/**
 * Numbered schema migrations, applied in order at start-up. Never edit one that has shipped: add the
 * next number. Instants are TEXT in ISO 8601 UTC with milliseconds.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'rooms, cameras, users, login sessions, audit log',
    sql: `
      CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('hearing', 'interview')),
        sort_order INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE cameras (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        room_id TEXT REFERENCES rooms(id) ON DELETE SET NULL,
        role TEXT NOT NULL DEFAULT '',
        sort_order INTEGER NOT NULL DEFAULT 0,
        enabled INTEGER NOT NULL DEFAULT 1,
        -- How to reach the camera. Passwords are 'env:NAME' references outside demo mode.
        source_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX cameras_room ON cameras(room_id);
      -- Which configuration-file entries were already seeded, so that one removed in the admin UI
      -- does not come back at the next start.
      CREATE TABLE config_seeded (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        seeded_at TEXT NOT NULL,
        PRIMARY KEY (kind, id)
      );
      CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
        display_name TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        roles_json TEXT NOT NULL,
        must_change_password INTEGER NOT NULL DEFAULT 0,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE user_rooms (
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        room_id TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
        PRIMARY KEY (user_id, room_id)
      );
      CREATE TABLE login_sessions (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        ip TEXT,
        user_agent TEXT
      );
      CREATE INDEX login_sessions_user ON login_sessions(user_id);
      CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT,
        action TEXT NOT NULL,
        target TEXT,
        detail_json TEXT NOT NULL,
        ip TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
      CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
    `,
  },
  {
    version: 2,
    name: 'cases, case events, sessions, participants, state changes, marks, corrections, interruptions',
    sql: `
      CREATE TABLE cases (
        id TEXT PRIMARY KEY,
        case_number TEXT NOT NULL UNIQUE COLLATE NOCASE,
        title TEXT NOT NULL,
        parties_json TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      -- Dated facts of a case. at is a calendar date YYYY-MM-DD (Asia/Shanghai). Append-only.
      CREATE TABLE case_events (
        id INTEGER PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        kind TEXT NOT NULL,
        at TEXT NOT NULL,
        note TEXT,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX case_events_case ON case_events(case_id);
      CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        title TEXT NOT NULL,
        procedure TEXT NOT NULL,
        -- NULL for a portable device; a room removed later leaves the session as it was.
        room_id TEXT,
        state TEXT NOT NULL CHECK (state IN ('scheduled', 'recording', 'recess', 'ended', 'sealed')),
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        started_at TEXT,
        ended_at TEXT,
        sealed_at TEXT,
        sealed_by TEXT
      );
      CREATE INDEX sessions_case ON sessions(case_id);
      -- Only one session records (or is in recess) per room, whatever the code above it does.
      CREATE UNIQUE INDEX sessions_one_active_per_room ON sessions(room_id)
        WHERE room_id IS NOT NULL AND state IN ('recording', 'recess');
      CREATE TABLE participants (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        -- Personal information: shown masked except to roles that need it, never logged.
        id_number TEXT,
        badge_number TEXT
      );
      CREATE INDEX participants_session ON participants(session_id);
      CREATE TABLE session_state_changes (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        from_state TEXT,
        to_state TEXT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT
      );
      CREATE INDEX session_state_changes_session ON session_state_changes(session_id);
      -- Stage marks (item) and notes as delivered; never updated, corrected by mark_corrections.
      CREATE TABLE marks (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        client_id TEXT NOT NULL UNIQUE,
        item INTEGER,
        note TEXT,
        client_time TEXT NOT NULL,
        clock_offset_ms INTEGER,
        server_time TEXT NOT NULL,
        effective_at TEXT NOT NULL,
        delayed INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        CHECK ((item IS NULL) <> (note IS NULL))
      );
      CREATE INDEX marks_session ON marks(session_id, seq);
      CREATE TABLE mark_corrections (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        mark_id TEXT NOT NULL REFERENCES marks(id),
        kind TEXT NOT NULL CHECK (kind IN ('void', 'retime', 'change-item')),
        at TEXT,
        item INTEGER,
        reason TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX mark_corrections_session ON mark_corrections(session_id, seq);
      CREATE TRIGGER marks_append_only_update BEFORE UPDATE ON marks
        BEGIN SELECT RAISE(ABORT, 'marks are corrected by mark_corrections, never updated'); END;
      CREATE TRIGGER marks_append_only_delete BEFORE DELETE ON marks
        BEGIN SELECT RAISE(ABORT, 'marks are never deleted'); END;
      CREATE TRIGGER mark_corrections_append_only_update BEFORE UPDATE ON mark_corrections
        BEGIN SELECT RAISE(ABORT, 'mark_corrections is append-only'); END;
      CREATE TRIGGER mark_corrections_append_only_delete BEFORE DELETE ON mark_corrections
        BEGIN SELECT RAISE(ABORT, 'mark_corrections is append-only'); END;
      -- Gaps in a recording: a camera that stopped delivering (camera_id set) or the whole session
      -- (camera_id NULL, e.g. a recess, whose reason is its explanation). A session is sealed only
      -- when every one is explained.
      CREATE TABLE interruptions (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        camera_id TEXT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        cause TEXT NOT NULL,
        explanation TEXT,
        explained_by TEXT,
        explained_at TEXT
      );
      CREATE INDEX interruptions_session ON interruptions(session_id);
    `,
  },
  {
    version: 3,
    name: 'recorded segments (hash-chained per camera per session) and session manifests',
    sql: `
      CREATE TABLE segments (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        camera_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        -- Relative to DATA_DIR: recordings/<yyyy-mm-dd>/<session>/<camera>/<seq>.ts
        file TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT NOT NULL,
        duration_ms INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        prev_sha256 TEXT,
        time_source TEXT NOT NULL CHECK (time_source IN ('rtcp', 'arrival')),
        adopted_at TEXT NOT NULL,
        UNIQUE (session_id, camera_id, seq)
      );
      -- Evidence rows are written once: which stage a segment belongs to is derived when read.
      CREATE TRIGGER segments_append_only_update BEFORE UPDATE ON segments
        BEGIN SELECT RAISE(ABORT, 'segments are evidence and append-only'); END;
      CREATE TRIGGER segments_append_only_delete BEFORE DELETE ON segments
        BEGIN SELECT RAISE(ABORT, 'segments are evidence and append-only'); END;
      CREATE TABLE session_manifests (
        session_id TEXT PRIMARY KEY REFERENCES sessions(id),
        file TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        written_at TEXT NOT NULL
      );
      CREATE TRIGGER session_manifests_append_only_update BEFORE UPDATE ON session_manifests
        BEGIN SELECT RAISE(ABORT, 'manifests are evidence and append-only'); END;
    `,
  },
  {
    version: 4,
    name: 'clock data per session: server sync state and camera clock offsets',
    sql: `
      CREATE TABLE session_clock (
        id INTEGER PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        -- 'server' for the server's own clock, else a camera id.
        subject TEXT NOT NULL,
        -- Camera clock minus server clock (ONVIF), null for the server or when not measurable.
        offset_ms REAL,
        synchronized INTEGER,
        source TEXT NOT NULL,
        detail TEXT,
        measured_at TEXT NOT NULL
      );
      CREATE INDEX session_clock_session ON session_clock(session_id);
    `,
  },
  {
    version: 5,
    name: 'custody log: who viewed (live) or exported what, per session',
    sql: `
      CREATE TABLE custody_log (
        id INTEGER PRIMARY KEY,
        -- The session recording in the room at the time, if any.
        session_id TEXT REFERENCES sessions(id),
        room_id TEXT,
        camera_id TEXT,
        username TEXT NOT NULL,
        -- 'live_view', later 'export', 'replay', …
        action TEXT NOT NULL,
        started_at TEXT NOT NULL,
        -- null while it lasts (or when the server stopped before it ended).
        ended_at TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
      );
      CREATE INDEX custody_log_session ON custody_log(session_id);
      CREATE INDEX custody_log_started ON custody_log(started_at);
      -- A row is written once and closed once: only an open row's end and detail may change.
      CREATE TRIGGER custody_log_close_once BEFORE UPDATE ON custody_log
        WHEN OLD.ended_at IS NOT NULL
          OR NEW.id IS NOT OLD.id OR NEW.session_id IS NOT OLD.session_id OR NEW.room_id IS NOT OLD.room_id
          OR NEW.camera_id IS NOT OLD.camera_id OR NEW.username IS NOT OLD.username OR NEW.action IS NOT OLD.action
          OR NEW.started_at IS NOT OLD.started_at
        BEGIN SELECT RAISE(ABORT, 'custody log rows are closed once and never rewritten'); END;
      CREATE TRIGGER custody_log_no_delete BEFORE DELETE ON custody_log
        BEGIN SELECT RAISE(ABORT, 'custody log rows are never deleted'); END;
    `,
  },
  {
    version: 6,
    name: 'portable devices (RTMP push) and the hashes of their push keys',
    sql: `
      CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        officer TEXT NOT NULL,
        badge_number TEXT NOT NULL,
        -- SHA-256 (hex) of the push key: the key itself is shown once at registration, never stored.
        key_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
      );
    `,
  },
  {
    version: 7,
    name: 'portable devices attached to sessions as recording sources',
    sql: `
      -- A device recorded into a session (room-less, or beside the room's cameras). Written once.
      CREATE TABLE session_devices (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        device_id TEXT NOT NULL REFERENCES devices(id),
        attached_by TEXT NOT NULL,
        attached_at TEXT NOT NULL,
        PRIMARY KEY (session_id, device_id)
      );
      CREATE INDEX session_devices_device ON session_devices(device_id);
      CREATE TRIGGER session_devices_append_only_update BEFORE UPDATE ON session_devices
        BEGIN SELECT RAISE(ABORT, 'session_devices is append-only'); END;
      CREATE TRIGGER session_devices_append_only_delete BEFORE DELETE ON session_devices
        BEGIN SELECT RAISE(ABORT, 'session_devices is append-only'); END;
    `,
  },
  {
    version: 8,
    name: 'evidence: manifest signatures (the signing key per sealed session) and export jobs',
    sql: `
      -- The key that signed a sealed session's manifest (manifest.sig and public-key.pem beside it).
      CREATE TABLE manifest_signatures (
        session_id TEXT PRIMARY KEY REFERENCES sessions(id),
        -- SHA-256 of the Ed25519 public key's DER (SubjectPublicKeyInfo), hex.
        key_fingerprint TEXT NOT NULL,
        signed_at TEXT NOT NULL
      );
      CREATE TRIGGER manifest_signatures_append_only_update BEFORE UPDATE ON manifest_signatures
        BEGIN SELECT RAISE(ABORT, 'manifest signatures are evidence and append-only'); END;
      CREATE TRIGGER manifest_signatures_append_only_delete BEFORE DELETE ON manifest_signatures
        BEGIN SELECT RAISE(ABORT, 'manifest signatures are evidence and append-only'); END;
      -- Evidence export packages: one row per request, its state and the finished file.
      CREATE TABLE evidence_exports (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        username TEXT NOT NULL,
        -- JSON arrays; null for all stages / all cameras.
        items TEXT,
        cameras TEXT,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'ready', 'failed')),
        progress REAL NOT NULL DEFAULT 0,
        -- Relative to DATA_DIR, once ready.
        file TEXT,
        bytes INTEGER,
        sha256 TEXT,
        error TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE INDEX evidence_exports_session ON evidence_exports(session_id);
    `,
  },
  {
    version: 9,
    name: 'body-camera file imports: chunked uploads into a case, their stored files and time-zone confirmations',
    sql: `
      -- One upload of a body-camera file into a case. While 'uploading' its chunks wait in a staging
      -- directory (never evidence); once 'stored' or 'refused' the row is closed and never rewritten.
      CREATE TABLE imports (
        id TEXT PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        device_id TEXT NOT NULL REFERENCES devices(id),
        item INTEGER NOT NULL,
        -- The uploader's file name, shown only: the stored path is the server's own.
        file_name TEXT NOT NULL,
        note TEXT,
        -- When the uploader says the recording started (UTC), to check the file's own time against.
        recorded_at_claim TEXT,
        bytes INTEGER NOT NULL,
        chunk_bytes INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('uploading', 'stored', 'refused')),
        refused_reason TEXT,
        closed_at TEXT,
        -- Once stored: relative to DATA_DIR, hashed on arrival, with ffprobe's facts (JSON).
        file TEXT,
        sha256 TEXT,
        damaged INTEGER CHECK (damaged IN (0, 1)),
        damage TEXT,
        probe TEXT,
        -- The file's creation_time tag as written (ISO, labelled UTC by the device) and the finding.
        creation_time TEXT,
        time_zone_suspect INTEGER CHECK (time_zone_suspect IN (0, 1)),
        time_zone_reason TEXT
      );
      CREATE INDEX imports_case ON imports(case_id);
      CREATE TRIGGER imports_closed_no_update BEFORE UPDATE ON imports WHEN OLD.state <> 'uploading'
        BEGIN SELECT RAISE(ABORT, 'a stored or refused import is never rewritten'); END;
      CREATE TRIGGER imports_no_delete BEFORE DELETE ON imports
        BEGIN SELECT RAISE(ABORT, 'imports are never deleted'); END;
      -- Legal staff's reading of a file's time: the latest row counts; the file is never rewritten.
      CREATE TABLE import_time_zone_confirmations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        import_id TEXT NOT NULL REFERENCES imports(id),
        interpretation TEXT NOT NULL CHECK (interpretation IN ('as-utc', 'local-as-utc')),
        confirmed_by TEXT NOT NULL,
        confirmed_at TEXT NOT NULL
      );
      CREATE INDEX import_time_zone_confirmations_import ON import_time_zone_confirmations(import_id);
      CREATE TRIGGER import_time_zone_confirmations_no_update BEFORE UPDATE ON import_time_zone_confirmations
        BEGIN SELECT RAISE(ABORT, 'time-zone confirmations are append-only'); END;
      CREATE TRIGGER import_time_zone_confirmations_no_delete BEFORE DELETE ON import_time_zone_confirmations
        BEGIN SELECT RAISE(ABORT, 'time-zone confirmations are append-only'); END;
    `,
  },
  {
    version: 10,
    name: 'retention: legal holds per case, destruction requests and destruction records',
    sql: `
      -- A legal hold on a case: while one is active (released_at null) nothing of the case is destroyed.
      CREATE TABLE legal_holds (
        id INTEGER PRIMARY KEY,
        case_id TEXT NOT NULL REFERENCES cases(id),
        reason TEXT NOT NULL,
        placed_by TEXT NOT NULL,
        placed_at TEXT NOT NULL,
        released_by TEXT,
        released_at TEXT,
        release_reason TEXT
      );
      CREATE UNIQUE INDEX legal_holds_active ON legal_holds(case_id) WHERE released_at IS NULL;
      -- A hold is placed once and released once; its history is never rewritten or removed.
      CREATE TRIGGER legal_holds_release_once BEFORE UPDATE ON legal_holds
        WHEN OLD.released_at IS NOT NULL OR NEW.id IS NOT OLD.id OR NEW.case_id IS NOT OLD.case_id
          OR NEW.reason IS NOT OLD.reason OR NEW.placed_by IS NOT OLD.placed_by OR NEW.placed_at IS NOT OLD.placed_at
        BEGIN SELECT RAISE(ABORT, 'legal holds are released once and never rewritten'); END;
      CREATE TRIGGER legal_holds_no_delete BEFORE DELETE ON legal_holds
        BEGIN SELECT RAISE(ABORT, 'legal holds are never deleted'); END;
      -- One legal user's request to destroy a sealed session's media, decided once by a second person.
      CREATE TABLE destruction_requests (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL REFERENCES sessions(id),
        state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
        reason TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        decided_by TEXT,
        decided_at TEXT,
        decision_reason TEXT
      );
      CREATE UNIQUE INDEX destruction_requests_pending ON destruction_requests(session_id) WHERE state = 'pending';
      CREATE TRIGGER destruction_requests_decide_once BEFORE UPDATE ON destruction_requests
        WHEN OLD.state <> 'pending' OR NEW.id IS NOT OLD.id OR NEW.session_id IS NOT OLD.session_id
          OR NEW.reason IS NOT OLD.reason OR NEW.requested_by IS NOT OLD.requested_by OR NEW.requested_at IS NOT OLD.requested_at
        BEGIN SELECT RAISE(ABORT, 'destruction requests are decided once and never rewritten'); END;
      CREATE TRIGGER destruction_requests_no_delete BEFORE DELETE ON destruction_requests
        BEGIN SELECT RAISE(ABORT, 'destruction requests are never deleted'); END;
      -- The destruction record (销毁记录): what was destroyed, by whose decision, with the hashes kept.
      CREATE TABLE destruction_records (
        session_id TEXT PRIMARY KEY REFERENCES sessions(id),
        request_id TEXT NOT NULL UNIQUE REFERENCES destruction_requests(id),
        reason TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        requested_at TEXT NOT NULL,
        approved_by TEXT NOT NULL,
        destroyed_at TEXT NOT NULL,
        manifest_sha256 TEXT NOT NULL,
        -- JSON array of { file (relative to DATA_DIR), sha256, bytes }.
        files_json TEXT NOT NULL
      );
      CREATE TRIGGER destruction_records_append_only_update BEFORE UPDATE ON destruction_records
        BEGIN SELECT RAISE(ABORT, 'destruction records are append-only'); END;
      CREATE TRIGGER destruction_records_append_only_delete BEFORE DELETE ON destruction_records
        BEGIN SELECT RAISE(ABORT, 'destruction records are append-only'); END;
    `,
  },
];
