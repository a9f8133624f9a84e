// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * exitcode.c - the Status -> exit status table (STYLE §2: errors are
 * translated once, here). Transport failures and usage errors never reach
 * the daemon and use CVM_EXIT_UNREACHABLE and CVM_EXIT_USAGE directly.
 */
#include <stdbool.h>
#include <stddef.h>

#include "exitcode.h"

static const struct {
	enum cvm_outcome outcome;
	enum cvm_exit exit;
} status_table[] = {
	[CVM__STATUS__OK] = { CVM_OUTCOME_DONE, CVM_EXIT_OK },
	/* The tables, the arguments or a limit said no: nothing changed. */
	[CVM__STATUS__INVALID_ARGUMENT] = { CVM_OUTCOME_REFUSED, CVM_EXIT_FAILED },
	[CVM__STATUS__NOT_FOUND] = { CVM_OUTCOME_REFUSED, CVM_EXIT_FAILED },
	[CVM__STATUS__EXISTS] = { CVM_OUTCOME_REFUSED, CVM_EXIT_FAILED },
	[CVM__STATUS__WRONG_STATE] = { CVM_OUTCOME_REFUSED, CVM_EXIT_FAILED },
	[CVM__STATUS__NOT_STARTED] = { CVM_OUTCOME_REFUSED, CVM_EXIT_FAILED },
	[CVM__STATUS__NO_MEMORY] = { CVM_OUTCOME_REFUSED, CVM_EXIT_FAILED },
	[CVM__STATUS__BUSY] = { CVM_OUTCOME_REFUSED, CVM_EXIT_FAILED },
	[CVM__STATUS__INTEGRITY] = { CVM_OUTCOME_REFUSED, CVM_EXIT_FAILED },
	[CVM__STATUS__OUT_OF_RANGE] = { CVM_OUTCOME_REFUSED, CVM_EXIT_FAILED },
	[CVM__STATUS__LIMIT] = { CVM_OUTCOME_REFUSED, CVM_EXIT_FAILED },
	/* The caller may not do this: like not reaching cvmd at all. */
	[CVM__STATUS__ACCESS_DENIED] = { CVM_OUTCOME_DENIED,
					 CVM_EXIT_UNREACHABLE },
	/* Something broke on the way. */
	[CVM__STATUS__UNAVAILABLE] = { CVM_OUTCOME_FAILED, CVM_EXIT_FAILED },
	[CVM__STATUS__INTERNAL] = { CVM_OUTCOME_FAILED, CVM_EXIT_FAILED },
};

static bool known(Cvm__Status status)
{
	return (unsigned int)status < sizeof(status_table) / sizeof(status_table[0]) &&
	       status_table[status].outcome;
}

enum cvm_exit cvm_exit_from_status(Cvm__Status status)
{
	return known(status) ? status_table[status].exit : CVM_EXIT_FAILED;
}

enum cvm_outcome cvm_outcome_from_status(Cvm__Status status)
{
	return known(status) ? status_table[status].outcome
			     : CVM_OUTCOME_FAILED;
}

const char *cvm_outcome_name(enum cvm_outcome outcome)
{
	switch (outcome) {
	case CVM_OUTCOME_DONE:
		return "done";
	case CVM_OUTCOME_REFUSED:
		return "refused";
	case CVM_OUTCOME_FAILED:
		return "failed";
	case CVM_OUTCOME_DENIED:
		return "access denied";
	}
	return "failed";
}
