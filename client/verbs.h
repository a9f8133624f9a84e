/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * verbs.h - cvmctl's command line and command table. cvmctl_prepare()
 * turns argv into the one Request a command sends (pure apart from reading
 * a --file and printing usage errors); cvmctl_main() also sends it and
 * prints the answer.
 */
#ifndef CVMCTL_VERBS_H
#define CVMCTL_VERBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm.pb-c.h"
#include "parse.h"

struct cvm_verb;

/* Hosts one command may cover with repeated -c (list, status, events). */
#define CVM_MAX_HOSTS 16

/* One command line, ready to send. */
struct cvm_call {
	const struct cvm_verb *verb;	/* NULL with --help and no command */
	const char *name;		/* the VM, or NULL */
	const char *uri_str;		/* as given (-c, $CVM_CONNECT, default) */
	struct cvm_uri uri;
	/* Every -c given (uri_strs[0], uris[0]: the same as above). */
	unsigned int nr_hosts;
	const char *uri_strs[CVM_MAX_HOSTS];
	struct cvm_uri uris[CVM_MAX_HOSTS];
	const char *pki_dir;		/* --pki-dir, or NULL */
	bool help;			/* --help: print usage, send nothing */
	/* What the command asked for, for its output. */
	uint64_t gpa;
	uint64_t pages;
	uint8_t *file_data;		/* guest-write --file contents (owned) */
	/* attest and verify-report (attest.c) */
	const char *nonce;		/* --nonce HEX */
	const char *ca;			/* --ca CAFILE */
	const char *measurement;	/* --measurement HEX */
	const char *output;		/* -o FILE */
	bool json;			/* --json */
	uint8_t nonce_buf[64];
	Cvm__Request req;		/* id 1; op points into the union */
	union {
		Cvm__StatusRequest status;
		Cvm__ListRequest list;
		Cvm__ShowRequest show;
		Cvm__CreateRequest create;
		Cvm__DestroyRequest destroy;
		Cvm__LifecycleRequest lifecycle;
		Cvm__PageRequest page;
		Cvm__GuestWriteRequest guest_write;
		Cvm__ReadRequest read;
		Cvm__SnapshotRequest snapshot;
		Cvm__WatchRequest watch;
		Cvm__AttestRequest attest;
	} op;
};

/*
 * Parse argv (argv[0] is the program) into c, which borrows argv's strings
 * until cvmctl_call_done(). Return 0, or -EINVAL after
 * printing a one-line usage error to stderr (and, with --json, a JSON
 * error to stdout). Call cvmctl_call_done() either way.
 */
int cvmctl_prepare(int argc, char **argv, struct cvm_call *c);
void cvmctl_call_done(struct cvm_call *c);

/* Name of the verb c runs ("init-start"), or NULL. */
const char *cvmctl_verb_name(const struct cvm_call *c);

/* The whole command; return its exit status (see exitcode.h). */
int cvmctl_main(int argc, char **argv);

#endif /* CVMCTL_VERBS_H */
