/** The README.txt of an export package, in Chinese and English: how to verify it without our server. */
export function packageReadme(info: { sessionId: string; caseNumber: string; title: string; fingerprint: string; exportedAt: string }): string {
  return `听证音像证据包 · Hearing recording evidence package
=====================================================

案件编号 Case number : ${info.caseNumber}
记录 Session         : ${info.title} (${info.sessionId})
导出时间 Exported at : ${info.exportedAt} (UTC)
签名密钥指纹 Signing key fingerprint (SHA-256):
  ${info.fingerprint}

请将上面的指纹与封存凭证（纸质记录）上打印的指纹逐位核对；只有二者一致，签名才能证明本包来自本机关的系统。
Compare this fingerprint digit by digit with the one printed on the seal certificate (the paper
record): only when they agree does the signature prove the package came from the agency's system.


一、中文说明
------------

本包内容
  manifest.json        封存时生成的记录清单（每个录像片段的 SHA-256 与哈希链、标记与更正、中断及说明、参与人、时钟数据），与服务器上的原件逐字节相同
  manifest.sig         对 manifest.json 原始字节的 Ed25519 签名（64 字节）
  public-key.pem       签名公钥
  original/<摄像机>/   所选环节的原始录像片段（MPEG-TS），逐字节原样复制
  working/<摄像机>/    每台摄像机每个环节一个 MP4 工作副本，按标记时间截取（流复制，未重新编码，仅供观看；证据以原始片段为准）
  export.json          本包所含内容：环节起止时间、各摄像机的片段序号、工作副本所覆盖的时间范围
  marks.json、chains.json、interruptions.json  标记与更正、哈希链、中断及说明（均取自 manifest.json）
  compliance.json      对照《2024版音像记录事项清单》的合规检查结果
  custody.json         本记录的监管链日志（每一次观看与导出，包括本次导出）
  SHA256SUMS           包内每个文件的 SHA-256；SHA256SUMS.sig 为其 Ed25519 签名
  verify.mjs           独立校验程序

方法一：使用校验程序（需 Node.js 18 或更高版本，无需联网、无需其他文件）
  在解压后的目录中运行：
    node verify.mjs --key <封存凭证上的指纹>
  退出码 0 表示完整；1 表示被篡改或签名密钥与 --key 不符（逐项列出问题）；2 表示无法读取。
  不带 --key 时程序会提示“密钥未锚定”并打印指纹，须自行与封存凭证核对。
  若系统中有 ffprobe，程序还会核对工作副本的时长；没有则跳过此项并明确说明。

方法二：仅使用标准工具
  1. 核对公钥指纹：
       openssl pkey -pubin -in public-key.pem -outform DER | sha256sum
  2. 核对清单签名（OpenSSL 3.0 及以上）：
       openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile manifest.sig
       openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
     均应输出 “Signature Verified Successfully”。
  3. 核对每个文件的哈希：
       Linux/macOS： sha256sum -c SHA256SUMS        （macOS 可用 shasum -a 256 -c SHA256SUMS）
       Windows：     certutil -hashfile original\\h1-wide\\000001.ts SHA256
                     逐个文件计算，并与 SHA256SUMS 中同名文件的哈希比对。
  4. 原始片段的哈希还须与 manifest.json 中 "cameras" 下对应片段的 "sha256" 一致；每个片段的
     "prevSha256" 等于前一片段的 "sha256"（哈希链）。包内不应有 SHA256SUMS 未列出的文件。


II. English
-----------

What the package holds
  manifest.json        the record written at seal (every segment's SHA-256 and hash chain, marks and
                       corrections, interruptions and explanations, participants, clock data), byte
                       for byte the server's original
  manifest.sig         Ed25519 signature over manifest.json's raw bytes (64 bytes)
  public-key.pem       the signing public key
  original/<camera>/   the original segments (MPEG-TS) of the chosen stages, copied bit for bit
  working/<camera>/    one MP4 working copy per camera and stage, cut at the marks (stream copy with
                       an edit list, not re-encoded; for viewing: the originals are the evidence)
  export.json          what the package holds: stage boundaries, each camera's segment numbers, the
                       range each working copy covers
  marks.json, chains.json, interruptions.json   marks and corrections, hash chains, interruptions
                       and explanations (all taken from manifest.json)
  compliance.json      the compliance report against the 2024 recording checklist
  custody.json         the session's custody log (every view and export, this export included)
  SHA256SUMS           SHA-256 of every file in the package; SHA256SUMS.sig is its Ed25519 signature
  verify.mjs           the standalone verifier

Method 1: the verifier (Node.js 18 or later; no network, no other file)
  In the unpacked folder run:
    node verify.mjs --key <fingerprint from the seal certificate>
  Exit code 0 means intact; 1 tampered, or signed by another key than --key (each failure is
  named); 2 unreadable. Without --key it says the key is UNANCHORED and prints the fingerprint for
  you to compare with the seal certificate. With ffprobe on PATH (or FFPROBE_PATH) it also checks
  that each working copy lasts the stated range; without, it skips that step and says so.

Method 2: standard tools alone
  1. The key's fingerprint:
       openssl pkey -pubin -in public-key.pem -outform DER | sha256sum
  2. The signatures (OpenSSL 3.0 or later):
       openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in manifest.json -sigfile manifest.sig
       openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
     Each must print "Signature Verified Successfully".
  3. Every file's hash:
       Linux/macOS: sha256sum -c SHA256SUMS         (macOS: shasum -a 256 -c SHA256SUMS)
       Windows:     certutil -hashfile original\\h1-wide\\000001.ts SHA256
                    for each file, compared with its line in SHA256SUMS.
  4. Each original segment's hash must also equal its "sha256" under "cameras" in manifest.json, and
     each segment's "prevSha256" the "sha256" of the one before (the hash chain). The package must
     hold no file that SHA256SUMS does not list.
`;
}
