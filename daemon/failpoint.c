// SPDX-License-Identifier: LGPL-2.1-or-later
/* failpoint.c - see failpoint.h; built into the test build only. */
#ifdef CVMD_FAILPOINTS
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cvm-frame.h"
#include "failpoint.h"

size_t cvmd_frame_max(void)
{
	const char *v = getenv("CVMD_TEST_FRAME_MAX");
	size_t max = v ? strtoul(v, NULL, 0) : 0;

	return max && max < CVM_FRAME_MAX ? max : CVM_FRAME_MAX;
}

void cvmd_failpoint(const char *name)
{
	const char *armed = getenv("CVMD_FAILPOINT");

	if (!armed || strcmp(armed, name))
		return;
	fprintf(stderr, "cvmd: failpoint %s: killing cvmd\n", name);
	fflush(stderr);
	raise(SIGKILL);
}
#endif
