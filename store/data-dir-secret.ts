import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A key kept in a file of the data folder, and whether this start made it. */
export interface DataDirSecret {
  readonly bytes: Buffer;
  readonly source: 'file' | 'generated';
  readonly path: string;
}

export interface SecretFileFormat {
  /** Random bytes in a new key. */
  readonly size: number;
  /** How the bytes are written: one line of text. */
  readonly encoding: 'hex' | 'base64url';
  /** What to say when the file holds no usable key; the file is never replaced (what it protects would be lost). */
  readonly unreadable: (path: string) => Error;
}

/** Reads DATA_DIR/<name>; undefined when there is no such file. */
export function readSecretFile(dataDir: string, name: string, format: SecretFileFormat): DataDirSecret | undefined {
  const path = join(dataDir, name);
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8').trim();
  const pattern = format.encoding === 'hex' ? /^(?:[0-9a-fA-F]{2})+$/ : /^[A-Za-z0-9_-]+$/;
  const bytes = pattern.test(text) ? Buffer.from(text, format.encoding) : Buffer.alloc(0);
  if (bytes.length < format.size) throw format.unreadable(path);
  return { bytes, source: 'file', path };
}

/**
 * `readSecretFile`, or at the first start a new key from the CSPRNG written
 * to DATA_DIR/<name> with mode 0600. There is no built-in default key.
 */
export function readOrCreateSecretFile(dataDir: string, name: string, format: SecretFileFormat): DataDirSecret {
  const found = readSecretFile(dataDir, name, format);
  if (found) return found;
  const path = join(dataDir, name);
  const bytes = randomBytes(format.size);
  try {
    // wx: of two processes starting at once (the service and the admin CLI), one writes it and the other reads it.
    writeFileSync(path, `${bytes.toString(format.encoding)}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readSecretFile(dataDir, name, format)!;
    throw err;
  }
  // The mode given to writeFileSync is filtered by the umask.
  chmodSync(path, 0o600);
  return { bytes, source: 'generated', path };
}
