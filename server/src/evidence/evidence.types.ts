import type { IntegrityAlarmEvent } from '../realtime/events.ts';

/** An export's lifecycle (CONTRACTS.md). */
export type ExportState = 'queued' | 'running' | 'ready' | 'failed';

export interface ExportRecord {
  id: string;
  sessionId: string;
  username: string;
  /** Checklist items chosen; null for every stage (and the whole session's originals). */
  items: number[] | null;
  /** Cameras chosen; null for every camera. */
  cameras: string[] | null;
  state: ExportState;
  /** 0…1. */
  progress: number;
  /** Relative to DATA_DIR, once ready. */
  file: string | null;
  bytes: number | null;
  sha256: string | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** One file of the package copied bit for bit (a segment, the manifest, its signature). */
export interface PackageCopy {
  /** Name in the zip (ASCII, forward slashes). */
  name: string;
  source: string;
  /** Checked while copying when known: a stored file that no longer matches fails the export. */
  sha256?: string;
}

/** One MP4 working copy: a camera's segments cut to a stage by stream copy with an edit list. */
export interface WorkingCopyPlan {
  name: string;
  /** The segment files, in order. */
  sources: string[];
  /**
   * Seconds from the range's start to the first segment's end (wall clock). The worker places the
   * cut from the segment's end, whose media and wall-clock times agree (a spool segment's media can
   * begin before its recorded capture start).
   */
  untilFirstEndS: number;
  durationS: number;
}

/** What the evidence worker builds: everything resolved by the server, so the worker needs no database. */
export interface ExportJob {
  kind: 'export';
  dataDir: string;
  outFile: string;
  workDir: string;
  copies: PackageCopy[];
  workingCopies: WorkingCopyPlan[];
  /** Small files written from text (records, README, export.json). */
  documents: { name: string; content: string }[];
}

/** A re-hash of stored evidence: each file against the hash recorded when it was written. */
export interface ScrubJob {
  kind: 'scrub';
  files: { sessionId: string | null; importId?: string; path: string; sha256: string }[];
}

export type ScrubFinding = IntegrityAlarmEvent['findings'][number];

export type WorkerJob = ExportJob | ScrubJob;

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; progress: number }
  | { type: 'exported'; bytes: number; sha256: string }
  | { type: 'scrubbed'; checked: number; findings: ScrubFinding[] }
  | { type: 'failed'; error: string };
