/**
 * Which env mode `auto` means: `venv`, even inside a container (a dev container, a CI runner).
 * `system` is only ever chosen explicitly, as podkeeper's own Docker image does.
 */
import { describe, expect, it } from 'vitest';
import { mayInstallSystemPackages, resolveEnvMode } from '../src/env/mode.js';
import { createManager } from './helpers.js';

describe('env mode', () => {
  it('auto means venv inside a container too; system only when asked for', () => {
    expect(resolveEnvMode('auto')).toBe('venv');
    expect(resolveEnvMode('system')).toBe('system');
    expect(resolveEnvMode('venv')).toBe('venv');
  });

  it('a manager left on auto builds venvs, whatever machine the tests run on', async () => {
    const manager = createManager({ envMode: 'auto' });
    expect((await manager.environment()).mode).toBe('venv');
  });

  it('apt is used only in the explicitly chosen system mode, as root', () => {
    expect(mayInstallSystemPackages('venv')).toBe(false);
    expect(mayInstallSystemPackages('system')).toBe(process.getuid?.() === 0);
  });
});
