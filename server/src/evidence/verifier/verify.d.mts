// Types of verify.mjs, the standalone verifier (plain JavaScript so it runs with Node alone).
export declare const MANIFEST: 'manifest.json';
export declare const MANIFEST_SIG: 'manifest.sig';
export declare const PUBLIC_KEY: 'public-key.pem';
export declare const SUMS: 'SHA256SUMS';
export declare const SUMS_SIG: 'SHA256SUMS.sig';
export declare const EXPORT_INDEX: 'export.json';
export declare const EXPORT_KEY: 'export-key.pem';
export declare function keyFingerprint(publicKeyPem: string): string;
export declare function formatFingerprint(hex: string): string;
export declare function signatureValid(publicKeyPem: string, data: Buffer, signature: Buffer): boolean;
export interface VerifyResult {
  /** 0 intact, 1 tampered or signed by another key, 2 unreadable. */
  code: 0 | 1 | 2;
  lines: string[];
  failures: string[];
  fingerprint?: string | null;
}
export declare function verifyDirectory(dir: string, options?: { key?: string | null; ffprobe?: string }): Promise<VerifyResult>;
