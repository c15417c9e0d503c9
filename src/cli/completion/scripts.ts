/**
 * The completion scripts for bash, zsh and fish, rendered from the command specs. Recipe names are
 * asked of `podkeeper completion --recipes` when the user presses Tab, so they are always current.
 */
import type { CommandSpec } from './spec.js';

export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

export function completionScript(shell: Shell, specs: CommandSpec[]): string {
  if (shell === 'bash') return bash(specs);
  if (shell === 'zsh') return zsh(specs);
  return fish(specs);
}

const RECIPES = 'podkeeper completion --recipes 2>/dev/null';

function bash(specs: CommandSpec[]): string {
  const cases = specs.map((spec) => {
    const flags = spec.flags.flatMap((flag) => flag.names).join(' ');
    const valued = spec.flags.filter((flag) => flag.takesValue).flatMap((flag) => flag.names);
    return [
      `    ${spec.name})`,
      `      flags=${shellQuote(flags)}`,
      `      valued=${shellQuote(valued.join(' '))}`,
      `      words=${shellQuote(spec.words.join(' '))}`,
      `      recipes=${spec.recipes ? 1 : 0}`,
      '      ;;',
    ].join('\n');
  });
  return `# podkeeper completion for bash. Load it with:  source <(podkeeper completion bash)
_podkeeper() {
  local cur prev command flags valued words recipes position i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  command="\${COMP_WORDS[1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W ${shellQuote(specs.map((spec) => spec.name).join(' '))} -- "$cur"))
    return
  fi
  flags=""; valued=""; words=""; recipes=0
  case "$command" in
${cases.join('\n')}
  esac
  # After a flag that takes a value, that value is the user's to type.
  for i in $valued; do [[ "$prev" == "$i" ]] && return; done
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  # The first word after the command that is not a flag (or a flag's value).
  position=0
  for ((i = 2; i < COMP_CWORD; i++)); do
    [[ "\${COMP_WORDS[i]}" == -* ]] && continue
    [[ " $valued " == *" \${COMP_WORDS[i-1]} "* ]] && continue
    position=$((position + 1))
  done
  [[ $position -ne 0 ]] && return
  if [[ -n "$words" ]]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  elif [[ $recipes -eq 1 ]]; then
    # Read as lines, never through compgen -W, which would expand $(...) inside a name.
    while IFS= read -r i; do [[ "$i" == "$cur"* ]] && COMPREPLY+=("$i"); done < <(${RECIPES})
    [[ "$command" == run ]] && COMPREPLY+=($(compgen -d -- "$cur"))
  fi
}
complete -F _podkeeper podkeeper
`;
}

function zsh(specs: CommandSpec[]): string {
  const commands = specs.map((spec) => `    ${shellQuote(`${spec.name}:${spec.description}`)}`).join('\n');
  const cases = specs.map((spec) => {
    const flags = spec.flags.flatMap((flag) =>
      flag.names.map((name) =>
        shellQuote(`${name}[${zshEscape(flag.description)}]${flag.takesValue ? ':value:' : ''}`),
      ),
    );
    const first = spec.words.length
      ? `'1:${spec.name}:(${spec.words.join(' ')})'`
      : spec.recipes
        ? `'1:recipe:_podkeeper_recipes'`
        : '';
    return `    ${spec.name}) _arguments -s ${[...flags, first].filter(Boolean).join(' ')} '*:: :' ;;`;
  });
  return `#compdef podkeeper
# podkeeper completion for zsh. Load it with:  source <(podkeeper completion zsh)
# (after compinit), or save it as _podkeeper in a folder of your $fpath.
_podkeeper_recipes() {
  local -a recipes
  recipes=(\${(f)"$(${RECIPES})"})
  _describe 'recipe' recipes
}

_podkeeper() {
  local -a commands
  commands=(
${commands}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  local command=\${words[2]}
  shift words
  (( CURRENT-- ))
  case $command in
${cases.join('\n')}
  esac
}

if (( $+functions[compdef] )); then
  compdef _podkeeper podkeeper
fi
`;
}

function fish(specs: CommandSpec[]): string {
  const lines = [
    '# podkeeper completion for fish. Load it with:  podkeeper completion fish | source',
    '# (or save it as ~/.config/fish/completions/podkeeper.fish)',
    'complete -c podkeeper -f',
  ];
  for (const spec of specs) {
    lines.push(
      `complete -c podkeeper -n __fish_use_subcommand -a ${spec.name} -d ${shellQuote(spec.description)}`,
    );
    const when = `'__fish_seen_subcommand_from ${spec.name}'`;
    for (const flag of spec.flags) {
      const parts = flag.names.map((name) =>
        name.startsWith('--') ? `-l ${name.slice(2)}` : `-s ${name.slice(1)}`,
      );
      lines.push(
        `complete -c podkeeper -n ${when} ${parts.join(' ')}${flag.takesValue ? ' -r' : ''} -d ${shellQuote(flag.description)}`,
      );
    }
    if (spec.words.length)
      lines.push(`complete -c podkeeper -n ${when} -a ${shellQuote(spec.words.join(' '))}`);
    if (spec.recipes) lines.push(`complete -c podkeeper -n ${when} -a '(${RECIPES})'`);
  }
  return `${lines.join('\n')}\n`;
}

/** One word for sh, bash, zsh and fish: single quotes, a quote inside written as '\\''. */
function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** zsh's _arguments descriptions end at `]`, and `:` separates fields. */
function zshEscape(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll(']', '\\]').replaceAll(':', '\\:');
}
