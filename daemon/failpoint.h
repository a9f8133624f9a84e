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

#endif /* CVMD_FAILPOINT_H */
