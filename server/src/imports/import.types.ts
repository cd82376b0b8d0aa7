/**
 * The import API's shapes, shared by server and client. This file imports nothing, so the client
 * can use it as it is.
 */

export type ImportState = 'uploading' | 'stored' | 'refused';
export type TimeZoneInterpretation = 'as-utc' | 'local-as-utc';

/** What ffprobe read from a stored file (null fields it could not read). */
export interface ImportProbe {
  format: string | null;
  durationS: number | null;
  video: { codec: string | null; width: number | null; height: number | null } | null;
  audio: boolean;
}

export interface ImportTimeZone {
  /** The file's creation_time tag as written (labelled UTC by the device), or null without one. */
  creationTime: string | null;
  /** The file's time looks 8 hours off or in the future: legal staff must say how to read it. */
  suspect: boolean;
  reason: string | null;
  /** The latest confirmation, if any. */
  interpretation: TimeZoneInterpretation | null;
  confirmedBy: string | null;
  confirmedAt: string | null;
  /**
   * Where the import sits on the case timeline: the creation time read as confirmed (as written
   * when not suspect and unconfirmed); null while a suspect time awaits confirmation.
   */
  recordedStart: string | null;
}

/** One `imports` row (migration 9). */
export interface ImportRecord {
  id: string;
  caseId: string;
  deviceId: string;
  item: number;
  fileName: string;
  note: string | null;
  recordedAtClaim: string | null;
  bytes: number;
  chunkBytes: number;
  createdBy: string;
  createdAt: string;
  state: ImportState;
  refusedReason: string | null;
  closedAt: string | null;
  file: string | null;
  sha256: string | null;
  damaged: boolean | null;
  damage: string | null;
  probe: ImportProbe | null;
  creationTime: string | null;
  timeZoneSuspect: boolean | null;
  timeZoneReason: string | null;
}

/** An import as the API shows it: its row without the server's own path and raw time facts, with upload progress and the time-zone reading. */
export interface ImportView extends Omit<ImportRecord, 'file' | 'creationTime' | 'timeZoneSuspect' | 'timeZoneReason'> {
  chunkCount: number;
  /** While uploading: the chunk indexes received so far and their bytes (resume from the rest). */
  receivedChunks: number[];
  receivedBytes: number;
  timeZone: ImportTimeZone | null;
}

export interface ImportCreated {
  id: string;
  chunkBytes: number;
  chunkCount: number;
}
