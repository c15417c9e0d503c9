/**
 * Plumbing for the install tests: recipe folders written on the fly, tarballs (honest and hostile),
 * a loopback HTTP server whose routes a test defines, and an installer over a test manager. Every
 * server and temporary folder is on the cleanup list.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip, gzipSync } from 'node:zlib';
import { create, Header } from 'tar';
import { installHostOf } from '../src/daemon/install-host.js';
import type { PodManager } from '../src/index.js';
import { type InstallProgress, RecipeInstaller } from '../src/install/installer.js';
import { createManager, onCleanup, tempDir } from './helpers.js';

export interface RecipeSpec {
  name: string;
  version?: string;
  /** Extra recipe.json fields (or overrides); `undefined` removes a field. */
  manifest?: Record<string, unknown>;
  /** The entry's Python source. @default answers {name, version, model, input} */
  code?: string;
  files?: Record<string, string>;
}

/** Writes a recipe folder under a fresh temp folder; answers its path. */
export function writeRecipe(spec: RecipeSpec, root = tempDir('pk-src-')): string {
  const dir = join(root, spec.name);
  mkdirSync(dir, { recursive: true });
  const manifest: Record<string, unknown> = {
    name: spec.name,
    version: spec.version ?? '1.0.0',
    capability: `${spec.name}-capability`,
    entry: 'pod.py',
    ...spec.manifest,
  };
  for (const [key, value] of Object.entries(manifest)) if (value === undefined) delete manifest[key];
  writeFileSync(join(dir, 'recipe.json'), JSON.stringify(manifest, null, 2));
  const version = JSON.stringify(spec.version ?? '1.0.0');
  writeFileSync(
    join(dir, 'pod.py'),
    spec.code ??
      [
        `VERSION = ${version}`,
        '',
        'def process(payload, ctx):',
        `    return {"name": ${JSON.stringify(spec.name)}, "version": VERSION, "model": ctx.model, "input": payload}`,
        '',
      ].join('\n'),
  );
  for (const [path, text] of Object.entries(spec.files ?? {})) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/**
 * A noisy recipe, `chatter`: its `process` writes `payload.lines` stderr lines of `payload.width`
 * bytes (each one a `pod.log` event and a daemon.log line), then "chatter done", and answers "done".
 * Answers the folder to put on the daemon's recipe path.
 */
export function writeChatter(): string {
  const dir = writeRecipe({
    name: 'chatter',
    code: [
      'import sys',
      '',
      'def process(payload, ctx):',
      '    for n in range(payload["lines"]):',
      '        sys.stderr.write(f"chatter line {n:07d} " + "x" * payload["width"] + "\\n")',
      '    sys.stderr.write("chatter done\\n")',
      '    sys.stderr.flush()',
      '    return "done"',
      '',
    ].join('\n'),
  });
  return join(dir, '..');
}

/** Packs `dir` as `<name>/…` into a .tar.gz; answers its path and sha256. */
export async function packRecipe(
  dir: string,
  out = tempDir('pk-tgz-'),
): Promise<{ file: string; sha256: string }> {
  const name = dir.slice(dir.lastIndexOf('/') + 1);
  const file = join(out, `${name}.tar.gz`);
  await create({ gzip: true, file, cwd: join(dir, '..'), portable: true }, [name]);
  return { file, sha256: sha256Of(file) };
}

/** A .tar.gz of the given members as written, `preservePaths` on: for hostile archives. */
export async function packRaw(cwd: string, members: string[], out = tempDir('pk-tgz-')): Promise<string> {
  const file = join(out, 'hostile.tar.gz');
  await create({ gzip: true, file, cwd, preservePaths: true, portable: true }, members);
  return file;
}

export function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export type Route = (request: IncomingMessage, response: ServerResponse) => void;

export interface TestServer {
  url: string;
  /** Requests seen, as "METHOD /path". */
  hits: string[];
  route(path: string, handler: Route): void;
  /** Serves a file's bytes at `path` (HEAD and ranges too). */
  file(path: string, body: Buffer | string, headers?: Record<string, string>): void;
}

/** A loopback HTTP server; unknown paths answer 404. Closed by the cleanup list. */
export async function startServer(): Promise<TestServer> {
  const routes = new Map<string, Route>();
  const hits: string[] = [];
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    hits.push(`${request.method} ${path}`);
    const handler = routes.get(path);
    if (handler) handler(request, response);
    else response.writeHead(404).end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  const api: TestServer = {
    url: `http://127.0.0.1:${port}`,
    hits,
    route: (path, handler) => routes.set(path, handler),
    file: (path, body, headers = {}) =>
      routes.set(path, (request, response) => serveBytes(request, response, Buffer.from(body), headers)),
  };
  return api;
}

/** 200 or 206 (a `Range: bytes=N-` request), with Content-Length and Accept-Ranges. */
export function serveBytes(
  request: IncomingMessage,
  response: ServerResponse,
  body: Buffer,
  headers: Record<string, string> = {},
): void {
  const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  const part = body.subarray(start);
  response.writeHead(range ? 206 : 200, {
    'content-length': String(part.length),
    'accept-ranges': 'bytes',
    ...(range ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    ...headers,
  });
  response.end(request.method === 'HEAD' ? undefined : part);
}

export interface InstallFixture {
  manager: PodManager;
  installer: RecipeInstaller;
  home: string;
  /** Progress of every install made through `install`. */
  progress: InstallProgress[];
  install(
    source: string,
    options?: { sha256?: string; insecure?: boolean },
  ): ReturnType<RecipeInstaller['install']>;
}

/** A manager on a fresh home (venv mode) with an installer over it (fast retries). */
export function installFixture(
  options: {
    indexUrl?: string;
    env?: Record<string, string>;
    home?: string;
    envMode?: 'auto' | 'venv' | 'system';
    drainTimeout?: number;
  } = {},
): InstallFixture {
  const home = options.home ?? tempDir('pk-home-');
  // venv mode: a test never installs into the system Python, even inside a container.
  const manager = createManager({
    home,
    env: options.env,
    envMode: options.envMode ?? 'venv',
    ...(options.drainTimeout === undefined ? {} : { drainTimeout: options.drainTimeout }),
  });
  const installer = new RecipeInstaller({
    host: installHostOf(manager),
    indexUrl: options.indexUrl,
    attempts: 3,
    backoffMs: 20,
    stallTimeout: 5,
  });
  const progress: InstallProgress[] = [];
  return {
    manager,
    installer,
    home,
    progress,
    install: (source, extra = {}) =>
      installer.install({ source, ...extra, onProgress: (event) => progress.push(event) }),
  };
}

/** What an install may leave in the home: nothing in staging, one folder per installed recipe. */
export function leftovers(home: string): { staging: string[]; versions: string[] } {
  const list = (dir: string) => {
    try {
      return readdirSync(dir).sort();
    } catch {
      return [];
    }
  };
  return { staging: list(join(home, 'staging')), versions: list(join(home, 'recipes', '.versions')) };
}

export interface RawMember {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  linkpath?: string;
  body?: string;
}

/** A .tar.gz written header by header, exactly as given (no path cleaning): for hostile archives. */
export function rawTarball(members: RawMember[], out = tempDir('pk-raw-')): string {
  const file = join(out, 'raw.tar.gz');
  writeFileSync(file, gzipSync(readFileSync(rawTar(members, out))));
  return file;
}

/** The uncompressed tar of `members`, header by header, exactly as given. */
export function rawTar(members: RawMember[], out = tempDir('pk-raw-')): string {
  const blocks: Buffer[] = [];
  for (const member of members) {
    const body = Buffer.from(member.body ?? '');
    const type = member.type ?? 'File';
    const header = new Header({
      path: member.path,
      type,
      linkpath: member.linkpath,
      size: type === 'File' ? body.length : 0,
      mode: type === 'Directory' ? 0o755 : 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === 'File' && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  const file = join(out, 'raw.tar');
  writeFileSync(file, Buffer.concat(blocks));
  return file;
}

/**
 * A gzip bomb: an honest recipe tar, its end-of-archive blocks, then `padding` zero bytes, all in one
 * gzip member at level 1 (about 230:1, under node-tar's own 1000:1 ratio guard). Written as a stream,
 * so a test never holds the inflated bytes.
 */
export async function gzipBomb(name: string, padding: number, out = tempDir('pk-bomb-')): Promise<string> {
  const file = join(out, `${name}.tar.gz`);
  const tar = readFileSync(rawTar(recipeMembers(name), out));
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  async function* bytes() {
    yield tar;
    for (let left = padding; left > 0; left -= zeros.length)
      yield zeros.subarray(0, Math.min(left, zeros.length));
  }
  await pipeline(bytes(), createGzip({ level: constants.Z_BEST_SPEED }), createWriteStream(file));
  return file;
}

/** The members of an honest recipe named `name`, to put hostile ones beside. */
export function recipeMembers(name: string): RawMember[] {
  return [
    { path: `${name}/`, type: 'Directory' },
    {
      path: `${name}/recipe.json`,
      body: JSON.stringify({ name, capability: 'demo', entry: 'pod.py' }),
    },
    { path: `${name}/pod.py`, body: 'def process(payload, ctx):\n    return payload\n' },
  ];
}

/**
 * The few Hub endpoints huggingface_hub's snapshot_download uses, for one repo at one commit:
 * revision info (for a branch name), the recursive tree, and resolve (HEAD and GET) per file. With a
 * token, a request without `Authorization: Bearer <token>` is answered 401.
 */
export function fakeHub(
  server: TestServer,
  repo: string,
  options: { commit: string; files: Record<string, string | Buffer>; token?: string },
): void {
  const { commit, files, token } = options;
  const authorized = (request: IncomingMessage) =>
    token === undefined || request.headers['authorization'] === `Bearer ${token}`;
  const tree = Object.entries(files).map(([path, body]) => ({
    type: 'file',
    path,
    size: Buffer.byteLength(body),
    oid: createHash('sha1').update(body).digest('hex'),
  }));
  const json = (response: ServerResponse, value: unknown) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(value));
  };
  server.route(`/api/models/${repo}/revision/main`, (request, response) => {
    if (!authorized(request)) return void response.writeHead(401).end('{"error":"unauthorized"}');
    json(response, { id: repo, sha: commit, siblings: tree.map((file) => ({ rfilename: file.path })) });
  });
  server.route(`/api/models/${repo}/tree/${commit}`, (request, response) => {
    if (!authorized(request)) return void response.writeHead(401).end('{"error":"unauthorized"}');
    json(response, tree);
  });
  for (const [path, body] of Object.entries(files)) {
    const etag = `"${createHash('sha1').update(body).digest('hex')}"`;
    server.route(`/${repo}/resolve/${commit}/${path}`, (request, response) => {
      if (!authorized(request)) return void response.writeHead(401).end();
      response.writeHead(200, {
        'x-repo-commit': commit,
        etag,
        'content-length': String(Buffer.byteLength(body)),
        'content-type': 'application/octet-stream',
      });
      response.end(request.method === 'HEAD' ? undefined : body);
    });
  }
}
