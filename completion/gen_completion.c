/*
 * gen_completion.c - writes the bash completion of posfleet from its command
 * table (server/cli/commands.c), so a command or option added there is
 * completed without anyone editing a script. Run at build time:
 *
 *   gen_completion > posfleet.bash
 *
 * The script completes command words ("device" then "add"), the options of the
 * command typed so far and the global options, the choices of an enumerated
 * option, and file names after an option whose value is a FILE.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static void print_opts(const struct pfc_opt *opts)
{
    for (size_t i = 0; opts && opts[i].name; i++)
        printf(" --%s", opts[i].name);
}

/* Prints "--name|--other" patterns of the options that take a value, one case
 * arm per kind: choices, files, anything else. */
static void print_value_arms(const struct pfc_opt *opts)
{
    for (size_t i = 0; opts && opts[i].name; i++) {
        const struct pfc_opt *o = &opts[i];
        if (o->type == PFC_OPT_FLAG)
            continue;
        if (o->type == PFC_OPT_ENUM && o->choices) {
            printf("        --%s)\n            _posfleet_words \"", o->name);
            for (const char *c = o->choices; *c; c++)
                putchar(*c == '|' ? ' ' : *c);
            printf("\"\n            return ;;\n");
        } else if (o->metavar && (strstr(o->metavar, "FILE") || strstr(o->metavar, "DIR"))) {
            printf("        --%s)\n            _posfleet_files\n            return ;;\n", o->name);
        } else {
            printf("        --%s)\n            return ;;\n", o->name);
        }
    }
}

static const char fixed[] =
        "_posfleet_words() { mapfile -t COMPREPLY < <(compgen -W \"$1\" -- \"$cur\" | sort -u); }\n"
        "_posfleet_files() { compopt -o filenames 2>/dev/null; "
        "mapfile -t COMPREPLY < <(compgen -f -- \"$cur\"); }\n"
        "# True when $1 is a command name or its first words.\n"
        "_posfleet_is_cmd() {\n"
        "    local n\n"
        "    while IFS= read -r n; do\n"
        "        [[ $n == \"$1\" || $n == \"$1 \"* ]] && return 0\n"
        "    done <<<\"$_posfleet_cmds\"\n"
        "    return 1\n"
        "}\n"
        "\n"
        "_posfleet() {\n"
        "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
        "    local i w n skip=0 past=0 cmd=\"\" next=\"\"\n"
        "    COMPREPLY=()\n"
        "    if [[ \" $_posfleet_valued \" == *\" $prev \"* ]]; then\n"
        "        _posfleet_value \"$prev\"\n"
        "        return\n"
        "    fi\n"
        "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
        "        w=${COMP_WORDS[i]}\n"
        "        if ((skip)); then skip=0; continue; fi\n"
        "        case $w in\n"
        "            --*) [[ \" $_posfleet_valued \" == *\" $w \"* ]] && skip=1 ;;\n"
        "            *) if ((!past)) && _posfleet_is_cmd \"${cmd:+$cmd }$w\"; then\n"
        "                   cmd=${cmd:+$cmd }$w\n"
        "               else\n"
        "                   past=1\n"
        "               fi ;;\n"
        "        esac\n"
        "    done\n"
        "    if [[ $cur == -* ]]; then\n"
        "        _posfleet_words \"$(_posfleet_options \"$cmd\")\"\n"
        "        return\n"
        "    fi\n"
        "    ((past)) && return\n"
        "    while IFS= read -r n; do\n"
        "        if [[ -z $cmd ]]; then\n"
        "            next+=\" ${n%% *}\"\n"
        "        elif [[ $n == \"$cmd \"* ]]; then\n"
        "            w=${n#\"$cmd \"}\n"
        "            next+=\" ${w%% *}\"\n"
        "        fi\n"
        "    done <<<\"$_posfleet_cmds\"\n"
        "    _posfleet_words \"$next\"\n"
        "}\n"
        "\n"
        "complete -F _posfleet posfleet\n";

static void print_valued(const struct pfc_opt *opts)
{
    for (size_t i = 0; opts && opts[i].name; i++)
        if (opts[i].type != PFC_OPT_FLAG)
            printf(" --%s", opts[i].name);
}

int main(void)
{
    fputs("# bash completion for posfleet, generated from its command table\n"
          "# (server/cli/commands.c) by completion/gen_completion.c at build time.\n\n",
          stdout);
    fputs("_posfleet_cmds='", stdout);
    for (size_t c = 0; c < pfc_ncommands; c++)
        printf("%s%s", c ? "\n" : "", pfc_commands[c].name);
    fputs("'\n", stdout);

    fputs("_posfleet_valued='", stdout);
    print_valued(pfc_global_opts);
    for (size_t c = 0; c < pfc_ncommands; c++)
        print_valued(pfc_commands[c].opts);
    fputs(" '\n\n", stdout);

    /* The value of an option: its choices, a file name, or nothing to offer. */
    fputs("_posfleet_value() {\n    case $1 in\n", stdout);
    print_value_arms(pfc_global_opts);
    for (size_t c = 0; c < pfc_ncommands; c++)
        print_value_arms(pfc_commands[c].opts);
    fputs("    esac\n}\n\n", stdout);

    /* Options of each command, with the global ones. */
    fputs("_posfleet_options() {\n    case $1 in\n", stdout);
    for (size_t c = 0; c < pfc_ncommands; c++) {
        printf("        \"%s\") echo '", pfc_commands[c].name);
        print_opts(pfc_commands[c].opts);
        print_opts(pfc_global_opts);
        fputs(" --help' ;;\n", stdout);
    }
    fputs("        *) echo '", stdout);
    print_opts(pfc_global_opts);
    fputs(" --help' ;;\n    esac\n}\n\n", stdout);
    fputs(fixed, stdout);
    return 0;
}
