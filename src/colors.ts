/**
 * Colour for one output stream: on only when that stream is a terminal (or FORCE_COLOR is set), and
 * never with NO_COLOR. picocolors' own default looks at stdout and turns colour on whenever `CI` is
 * set, which put escape codes into piped stderr and broke `CODE: message` lines for scripts.
 */
import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

export function colorsFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Colors {
  const enabled =
    !('NO_COLOR' in env) && ('FORCE_COLOR' in env || (stream.isTTY === true && env['TERM'] !== 'dumb'));
  return pc.createColors(enabled);
}
