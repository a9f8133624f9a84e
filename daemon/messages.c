// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * messages.c - the words of a refusal: the VM's state and why, so every
 * client (cvmctl prints "cvmctl: VERB 'NAME' refused: MESSAGE") can show
 * the VM, its state and the operation.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cvmd.h"

static const char *why(int state, const char *verb, int err)
{
	switch (err) {
	case -EOPNOTSUPP:
		return "INIT_START has not run";
	case -EBADFD:
		if (!strcmp(verb, "init-start"))
			return state == CVM__VM_STATE__SECURE ?
			       "it is secure already; only terminate leaves that state" :
			       "INIT_START has run already";
		if (!strcmp(verb, "init-done") || !strcmp(verb, "init-abort"))
			return "INIT_DONE has completed; only terminate leaves the secure state";
		return "the page is in the wrong state for this operation";
	case -EBUSY:
		return "a page in the range is shared for DMA";
	case -ENOMEM:
		return "the memlock limit or the secure pool is exhausted";
	case -EBADMSG:
		return "the paged-out page failed authentication: its host copy was modified";
	case -ERANGE:
		return "the address is outside the VM's memory";
	case -EINVAL:
		return "invalid argument";
	case -ENOLINK:
		return "its VMM is not running";
	}
	return strerror(-err);
}

void cvmd_refusal(char *buf, size_t size, int state, const char *verb,
		  uint64_t gpa, int err)
{
	if (err == -EBADFD && strcmp(verb, "init-start") &&
	    strcmp(verb, "init-done") && strcmp(verb, "init-abort"))
		snprintf(buf, size, "VM is %s (GPA 0x%llx: %s)",
			 cvmd_state_name(state), (unsigned long long)gpa,
			 why(state, verb, err));
	else
		snprintf(buf, size, "VM is %s (%s)", cvmd_state_name(state),
			 why(state, verb, err));
}
