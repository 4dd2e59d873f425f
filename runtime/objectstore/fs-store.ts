import { createReadStream, createWriteStream, mkdirSync, promises as fs } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { ObjectStoreError, type ObjectStore } from './object-store.js';

/**
 * A mounted volume as an object store. Objects are written to `<key>.partial`
 * and renamed on success, so a reader never sees a half-written object.
 */
export class FilesystemStore implements ObjectStore {
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  private path(key: string): string {
    const path = resolve(this.root, key);
    if (path !== this.root && !path.startsWith(this.root + sep))
      throw new ObjectStoreError('other', `key "${key}" escapes the volume root`);
    return path;
  }

  url(key: string): string {
    return `file://${this.path(key)}`;
  }

  createWriteStream(key: string): Writable {
    const target = this.path(key);
    const partial = `${target}.partial`;
    mkdirSync(dirname(target), { recursive: true });
    const file = createWriteStream(partial);
    // Errors reach the writer through write/final callbacks; this listener keeps them from going uncaught.
    file.on('error', () => undefined);
    const classify = (error: NodeJS.ErrnoException) =>
      new ObjectStoreError(
        error.code === 'ENOSPC' || error.code === 'EDQUOT' ? 'storage-full' : 'other',
        `writing ${target}: ${error.message}`,
        { cause: error },
      );
    const closed = new Promise<void>((resolve) => file.once('close', () => resolve()));
    return new Writable({
      highWaterMark: 1024 * 1024,
      write(chunk, _encoding, done) {
        file.write(chunk, (error) => done(error ? classify(error) : undefined));
      },
      final(done) {
        file.end();
        closed
          .then(() => (file.errored ? Promise.reject(file.errored) : fs.rename(partial, target)))
          .then(
            () => done(),
            (error) => done(classify(error)),
          );
      },
      destroy(error, done) {
        if (!error) return done(null);
        file.destroy();
        // Remove the partial file only once the descriptor is closed, or a late open could recreate it.
        closed.then(() => fs.rm(partial, { force: true })).finally(() => done(error));
      },
    });
  }

  async createReadStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const path = this.path(key);
    await fs.access(path).catch((e) => {
      throw new ObjectStoreError('not-found', `${path} does not exist`, { cause: e });
    });
    return createReadStream(path, range ? { start: range.start, ...(range.end !== undefined ? { end: range.end - 1 } : {}) } : {});
  }

  async putSmall(key: string, body: Buffer): Promise<void> {
    const target = this.path(key);
    await fs.mkdir(dirname(target), { recursive: true });
    await fs.writeFile(`${target}.partial`, body);
    await fs.rename(`${target}.partial`, target);
  }

  async getSmall(key: string): Promise<Buffer> {
    return fs.readFile(this.path(key)).catch((e) => {
      throw new ObjectStoreError('not-found', `${this.path(key)} does not exist`, { cause: e });
    });
  }

  async size(key: string): Promise<number | undefined> {
    return fs.stat(this.path(key)).then(
      (s) => s.size,
      () => undefined,
    );
  }

  async list(prefix: string): Promise<string[]> {
    const walk = async (dir: string): Promise<string[]> => {
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
      const nested = await Promise.all(
        entries.map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : Promise.resolve([join(dir, e.name)]))),
      );
      return nested.flat();
    };
    // Start at the deepest folder the prefix names, not at the volume root: a volume holds many backups.
    const folder = prefix.includes('/') ? this.path(prefix.slice(0, prefix.lastIndexOf('/'))) : this.root;
    return (await walk(folder))
      .map((p) => relative(this.root, p).split(sep).join('/'))
      .filter((key) => key.startsWith(prefix) && !key.endsWith('.partial'))
      .sort();
  }

  async delete(keys: string[]): Promise<void> {
    await Promise.all(keys.map((key) => fs.rm(this.path(key), { force: true })));
  }
}
