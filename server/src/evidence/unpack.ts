import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

/**
 * Unpacks a zip into an empty directory. Entry names that would leave it (absolute, `..`,
 * backslashes) are refused by yauzl and checked again here; sizes are checked against the headers.
 */
export async function unpackZip(zipFile: string, into: string): Promise<void> {
  const root = resolve(into);
  const zip = await new Promise<yauzl.ZipFile>((ok, fail) =>
    yauzl.open(zipFile, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true }, (err, z) => (err ? fail(err) : ok(z))),
  );
  try {
    await new Promise<void>((ok, fail) => {
      zip.on('error', fail);
      zip.on('end', ok);
      zip.on('entry', (entry: yauzl.Entry) => {
        const target = resolve(root, entry.fileName);
        if (target !== root && !target.startsWith(root + sep)) {
          fail(new Error(`zip entry ${JSON.stringify(entry.fileName)} points outside the package`));
          return;
        }
        if (entry.fileName.endsWith('/')) {
          void mkdir(target, { recursive: true }).then(() => zip.readEntry(), fail);
          return;
        }
        zip.openReadStream(entry, (err, stream) => {
          if (err) return fail(err);
          void mkdir(dirname(target), { recursive: true })
            .then(() => pipeline(stream, createWriteStream(target, { flags: 'wx' })))
            .then(() => zip.readEntry(), fail);
        });
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

