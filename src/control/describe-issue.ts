import type { z } from 'zod';

/** One zod issue as a sentence that names the field: `payload.target: Invalid input: expected string…`. */
export function describeIssue(issue: z.core.$ZodIssue | undefined, prefix = ''): string {
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => `\`${prefix}${path ? `${path}.` : ''}${key}\``);
    return `unknown field${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
  }
  const field = `${prefix}${path}`.replace(/\.$/, '');
  return `${field ? `\`${field}\`` : '(root)'}: ${issue.message}`;
}
