/* cli.h - the command line. */
#ifndef ACKBOT_CLI_H
#define ACKBOT_CLI_H

#define ACKBOT_VERSION "0.1.0"

int cli_main(int argc, char **argv);

#endif
