// Durations and fingerprints as the console shows them.

/** 3723000 → `01:02:03`; negative counts as zero. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return [h, m, s].map((n) => String(n).padStart(2, '0')).join(':');
}

/** The first 16 hex digits of a SHA-256 in groups of four, upper case: `3F2A 9C01 77DE 0B4C`. */
export function shortFingerprint(sha256: string): string {
  return (sha256.slice(0, 16).toUpperCase().match(/.{1,4}/g) ?? []).join(' ');
}

/** A signing key's full fingerprint (64 hex digits) in groups of four, as the verifier prints it. */
export function keyFingerprintText(hex: string): string {
  return hex.replace(/(.{4})(?=.)/g, '$1 ');
}

/** What the seal certificate's QR code carries: the session and the manifest's full hash. */
export function sealQrText(sessionId: string, sha256: string): string {
  return `hr-seal:v1:${sessionId}:${sha256}`;
}
