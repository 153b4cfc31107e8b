/* `hawser completion bash|zsh|fish`: shell completion scripts. They ask hawser itself at
 * completion time (command --help for the flags, ps/images/network ls/volume ls for the
 * names), so they never drift from the binary. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "opt.h"

static const char bash_script[] =
        "# hawser bash completion: source it, or save it as\n"
        "# /etc/bash_completion.d/hawser (zsh: autoload bashcompinit; bashcompinit; source it)\n"
        "_hawser_names() {\n"
        "    case $1 in\n"
        "    container) hawser ps -a --format '{{.Names}}' 2>/dev/null ;;\n"
        "    image) hawser images --format '{{.Repository}}:{{.Tag}}' 2>/dev/null | grep -v "
        "'<none>' ;;\n"
        "    network) hawser network ls --format '{{.Name}}' 2>/dev/null ;;\n"
        "    volume) hawser volume ls -q 2>/dev/null ;;\n"
        "    esac\n"
        "}\n"
        "_hawser() {\n"
        "    local cur=${COMP_WORDS[COMP_CWORD]} cmd='' sub='' i w\n"
        "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
        "        w=${COMP_WORDS[i]}\n"
        "        [[ $w == -* ]] && continue\n"
        "        if [ -z \"$cmd\" ]; then cmd=$w\n"
        "        elif [ -z \"$sub\" ]; then sub=$w; fi\n"
        "    done\n"
        "    if [ -z \"$cmd\" ]; then\n"
        "        COMPREPLY=($(compgen -W \"$(hawser 2>&1 | awk '/^Commands:/ {on=1; next} on "
        "{print $1}')\" -- \"$cur\"))\n"
        "        return\n"
        "    fi\n"
        "    case $cmd in\n"
        "    container | image | network | volume | system | builder)\n"
        "        if [ -z \"$sub\" ]; then\n"
        "            COMPREPLY=($(compgen -W \"$(hawser \"$cmd\" --help 2>/dev/null | sed -n "
        "'s/^Commands: //p' | tr -d ,)\" -- \"$cur\"))\n"
        "            return\n"
        "        fi\n"
        "        cmd=\"$cmd $sub\" ;;\n"
        "    esac\n"
        "    if [[ $cur == -* ]]; then\n"
        "        COMPREPLY=($(compgen -W \"$(hawser $cmd --help 2>/dev/null | grep -oE "
        "'(^| )--?[a-z][a-z0-9-]*' | tr -d ' ')\" -- \"$cur\"))\n"
        "        return\n"
        "    fi\n"
        "    case $cmd in\n"
        "    run | create | pull | push | history | rmi | tag | save | 'image '*) "
        "COMPREPLY=($(compgen -W \"$(_hawser_names image)\" -- \"$cur\")) ;;\n"
        "    'network '*) COMPREPLY=($(compgen -W \"$(_hawser_names network) $(_hawser_names "
        "container)\" -- \"$cur\")) ;;\n"
        "    'volume '*) COMPREPLY=($(compgen -W \"$(_hawser_names volume)\" -- \"$cur\")) ;;\n"
        "    *) COMPREPLY=($(compgen -W \"$(_hawser_names container)\" -- \"$cur\")) ;;\n"
        "    esac\n"
        "}\n"
        "complete -F _hawser hawser\n";

static const char fish_script[] =
        "# hawser fish completion: save as ~/.config/fish/completions/hawser.fish\n"
        "function __hawser_no_command\n"
        "    test (count (commandline -opc)) -le 1\n"
        "end\n"
        "complete -c hawser -f -n __hawser_no_command -a '(hawser 2>&1 | awk \"/^Commands:/ "
        "{on=1; next} on {print \\$1}\")'\n"
        "complete -c hawser -f -n 'not __hawser_no_command' -a '(hawser ps -a --format "
        "\"{{.Names}}\" 2>/dev/null)'\n"
        "complete -c hawser -f -n 'not __hawser_no_command' -a '(hawser images --format "
        "\"{{.Repository}}:{{.Tag}}\" 2>/dev/null)'\n";

int cmd_completion(struct cli *cli, int argc, char **argv, struct err *err)
{
        static const struct opt_def defs[] = {OPT_END};
        int n = opt_parse(defs, argc - 1, argv + 1, false, NULL, err);

        if (n < 0)
                return cli_usage_error(cli, "completion", err, "%s", err->msg);
        if (n != 1)
                return cli_usage_error(cli, "completion", err,
                                       "\"hawser completion\" requires exactly 1 argument: "
                                       "bash, zsh or fish.");
        if (!strcmp(argv[1], "bash"))
                fputs(bash_script, stdout);
        else if (!strcmp(argv[1], "zsh"))
                printf("# hawser zsh completion: the bash one through zsh's bashcompinit\n"
                       "autoload -U +X bashcompinit && bashcompinit\n%s",
                       bash_script);
        else if (!strcmp(argv[1], "fish"))
                fputs(fish_script, stdout);
        else
                return cli_usage_error(cli, "completion", err,
                                       "unsupported shell \"%s\": bash, zsh or fish", argv[1]);
        return 0;
}
