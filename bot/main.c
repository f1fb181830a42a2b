/* main.c - ackbot: a social customer-care bot daemon. */
#include "cli.h"

int
main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
