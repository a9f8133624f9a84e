// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cvmctl.c - the CLI of cvmd. Everything but main() lives in the other
 * files of client/, so the unit tests link all of it.
 */
#include "verbs.h"

int main(int argc, char **argv)
{
	return cvmctl_main(argc, argv);
}
