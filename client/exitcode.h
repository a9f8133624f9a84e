/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * exitcode.h - cvmctl's exit statuses and the one table that maps the
 * daemon's Status to an exit status and to the word the error message
 * uses ("refused", "failed", "access denied").
 */
#ifndef CVMCTL_EXITCODE_H
#define CVMCTL_EXITCODE_H

#include "cvm.pb-c.h"

enum cvm_exit {
	CVM_EXIT_OK = 0,	  /* done */
	CVM_EXIT_FAILED = 1,	  /* refused or failed by cvmd */
	CVM_EXIT_USAGE = 2,	  /* bad command line */
	CVM_EXIT_UNREACHABLE = 3, /* cvmd unreachable, or access denied */
};

/* How an answer reads in the error message; 0 is "no entry". */
enum cvm_outcome {
	CVM_OUTCOME_DONE = 1,
	CVM_OUTCOME_REFUSED,
	CVM_OUTCOME_FAILED,
	CVM_OUTCOME_DENIED,
};

/* Exit status for a Status; a Status this build does not know fails (1). */
enum cvm_exit cvm_exit_from_status(Cvm__Status status);
enum cvm_outcome cvm_outcome_from_status(Cvm__Status status);
/* "done", "refused", "failed", "access denied". */
const char *cvm_outcome_name(enum cvm_outcome outcome);

#endif /* CVMCTL_EXITCODE_H */
