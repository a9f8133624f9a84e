/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * failpoint.h - named points inside cvmd's transitions where the
 * adversarial suite (tests/hostile) kills cvmd with SIGKILL, to prove that
 * a crash at any of them leaves the registry and the VMMs consistent.
 * Compiled in only with -DCVMD_FAILPOINTS (the suite's ASan build): the
 * shipped cvmd has none.
 *
 * CVMD_FAILPOINT=NAME in the environment arms one point: its first hit
 * logs "failpoint NAME: killing cvmd" and raises SIGKILL.
 */
#ifndef CVMD_FAILPOINT_H
#define CVMD_FAILPOINT_H

#ifdef CVMD_FAILPOINTS
void cvmd_failpoint(const char *name);
#else
static inline void cvmd_failpoint(const char *name)
{
	(void)name;
}
#endif

/*
 * The largest frame cvmd sends a client: CVM_FRAME_MAX, or in the test
 * build CVMD_TEST_FRAME_MAX from the environment, so that what must span
 * frames is tested with a few VMs instead of tens of thousands.
 */
#ifdef CVMD_FAILPOINTS
size_t cvmd_frame_max(void);
#else
#include "cvm-frame.h"
static inline size_t cvmd_frame_max(void)
{
	return CVM_FRAME_MAX;
}
#endif

#endif /* CVMD_FAILPOINT_H */
