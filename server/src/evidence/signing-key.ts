import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatFingerprint, keyFingerprint } from './verifier/verify.mjs';

export const KEY_DIR = 'keys';
export const PRIVATE_KEY_FILE = 'evidence-signing.key';
export const PUBLIC_KEY_FILE = 'evidence-signing.pub.pem';

/**
 * The Ed25519 key that signs sealed manifests and export packages. Generated on first start into
 * `DATA_DIR/keys/` (private key PKCS#8 PEM, mode 0600; public key SPKI PEM beside it). Backup and
 * rotation: docs/evidence.md. The fingerprint (SHA-256 of the public key's DER) anchors every
 * signature; the verifier's `keyFingerprint` computes it, so server and verifier cannot disagree.
 */
export class SigningKey {
  private constructor(
    private readonly privateKey: KeyObject,
    readonly publicKeyPem: string,
    readonly fingerprint: string,
  ) {}

  /** Loads the key of a data directory, generating it the first time. */
  static open(dataDir: string): SigningKey & { created: boolean } {
    const dir = join(dataDir, KEY_DIR);
    const privateFile = join(dir, PRIVATE_KEY_FILE);
    let created = false;
    if (!existsSync(privateFile)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const { privateKey } = generateKeyPairSync('ed25519');
      const temporary = `${privateFile}.tmp-${process.pid}`;
      writeFileSync(temporary, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      renameSync(temporary, privateFile);
      created = true;
    }
    chmodSync(privateFile, 0o600);
    const privateKey = createPrivateKey(readFileSync(privateFile));
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${privateFile} is not an Ed25519 private key`);
    const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
    const publicFile = join(dir, PUBLIC_KEY_FILE);
    if (!existsSync(publicFile) || readFileSync(publicFile, 'utf8') !== publicKeyPem) writeFileSync(publicFile, publicKeyPem, { mode: 0o644 });
    return Object.assign(new SigningKey(privateKey, publicKeyPem, keyFingerprint(publicKeyPem)), { created });
  }

  /** The raw 64-byte Ed25519 signature of the bytes (what `openssl pkeyutl -verify -rawin` checks). */
  sign(data: Buffer | string): Buffer {
    return sign(null, typeof data === 'string' ? Buffer.from(data) : data, this.privateKey);
  }

  /** The fingerprint grouped for reading aloud and printing. */
  get fingerprintText(): string {
    return formatFingerprint(this.fingerprint);
  }
}
