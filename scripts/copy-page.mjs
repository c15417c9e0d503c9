// Copies the status page's static files (HTML, JS, CSS: no bundler) next to the compiled listener.
import { cpSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
cpSync(join(root, 'src', 'http', 'page'), join(root, 'dist', 'http', 'page'), { recursive: true });
