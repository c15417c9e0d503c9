/** The README examples with their dependencies (six, numpy) from the package registry, not stand-ins. */
import { describe, expect, it } from 'vitest';
import { runReadme } from '../readme-run.js';

describe('README examples, online', () => {
  it('runs every code example of README.md', async () => {
    expect(await runReadme('README.md', { online: true })).toBeGreaterThanOrEqual(4);
  });

  it('runs every code example of clients/python/README.md', async () => {
    expect(await runReadme('clients/python/README.md', { online: true })).toBeGreaterThanOrEqual(1);
  });
});
