/*
 * rapporteur CLI: the commands. Each cli/cmd_<name>.c defines one of these; argv[0] is
 * the command's name and the return value is the process exit status.
 */
#ifndef RP_CLI_CMDS_H
#define RP_CLI_CMDS_H

/** `rapporteur estimate FILE [options]`: multiple systems estimation. */
int cmd_estimate(int argc, char **argv);

#endif
