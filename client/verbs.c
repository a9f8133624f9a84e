// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * verbs.c - cvmctl's command table, its command line and each command:
 * build one Request, send it, print the Response (human or --json).
 *
 * Errors are reported once, here, at the top of the call path: usage
 * errors exit 2, the daemon's Status goes through exitcode.c's table,
 * transport failures exit 3.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "attest.h"
#include "conn.h"
#include "exitcode.h"
#include "hook.h"
#include "output.h"
#include "verbs.h"

#define DEFAULT_TIMEOUT_MS 30000

/* Command options; global ones (-c, --json, --timeout, -h) fit every verb. */
enum cvm_opt {
	OPT_MEMORY = 1 << 0,
	OPT_MEMLOCK_LIMIT = 1 << 1,
	OPT_PIN = 1 << 2,
	OPT_SHARED = 1 << 3,
	OPT_PAGES = 1 << 4,
	OPT_DATA = 1 << 5,
	OPT_FILE = 1 << 6,
	OPT_LENGTH = 1 << 7,
	OPT_OUTPUT = 1 << 8,
	OPT_NONCE = 1 << 9,
	OPT_CA = 1 << 10,
	OPT_MEASUREMENT = 1 << 11,
};

/* getopt values of the long-only options. */
enum {
	ARG_JSON = 0x100,
	ARG_TIMEOUT,
	ARG_MEMORY,
	ARG_MEMLOCK_LIMIT,
	ARG_PIN,
	ARG_SHARED,
	ARG_PAGES,
	ARG_DATA,
	ARG_FILE,
	ARG_LENGTH,
	ARG_NONCE,
	ARG_CA,
	ARG_MEASUREMENT,
	ARG_PKI_DIR,
};

static const struct option long_options[] = {
	{ "connect", required_argument, NULL, 'c' },
	{ "json", no_argument, NULL, ARG_JSON },
	{ "timeout", required_argument, NULL, ARG_TIMEOUT },
	{ "pki-dir", required_argument, NULL, ARG_PKI_DIR },
	{ "help", no_argument, NULL, 'h' },
	{ "memory", required_argument, NULL, ARG_MEMORY },
	{ "memlock-limit", required_argument, NULL, ARG_MEMLOCK_LIMIT },
	{ "pin", required_argument, NULL, ARG_PIN },
	{ "shared", no_argument, NULL, ARG_SHARED },
	{ "pages", required_argument, NULL, ARG_PAGES },
	{ "data", required_argument, NULL, ARG_DATA },
	{ "file", required_argument, NULL, ARG_FILE },
	{ "length", required_argument, NULL, ARG_LENGTH },
	{ "output", required_argument, NULL, 'o' },
	{ "nonce", required_argument, NULL, ARG_NONCE },
	{ "ca", required_argument, NULL, ARG_CA },
	{ "measurement", required_argument, NULL, ARG_MEASUREMENT },
	{}
};

/* Each command option: its getopt value, mask bit, name and help. */
static const struct {
	int val;
	unsigned int bit;
	const char *name;
	const char *help;
} command_options[] = {
	{ ARG_MEMORY, OPT_MEMORY, "--memory SIZE", "guest memory (K, M, G)" },
	{ ARG_MEMLOCK_LIMIT, OPT_MEMLOCK_LIMIT, "--memlock-limit SIZE",
	  "the VM's RLIMIT_MEMLOCK (default: cvmd's)" },
	{ ARG_PIN, OPT_PIN, "--pin demand|upfront",
	  "pin on first use (default) or at start" },
	{ ARG_SHARED, OPT_SHARED, "--shared", "page in as shared" },
	{ ARG_PAGES, OPT_PAGES, "--pages N", "pages from GPA on (default 1)" },
	{ ARG_DATA, OPT_DATA, "--data STR", "write the bytes of STR" },
	{ ARG_FILE, OPT_FILE, "--file F", "write F's contents ('-': stdin)" },
	{ ARG_LENGTH, OPT_LENGTH, "--length N", "bytes to read (1 to 1M)" },
	{ 'o', OPT_OUTPUT, "-o, --output FILE", "write to FILE, not stdout" },
	{ ARG_NONCE, OPT_NONCE, "--nonce HEX",
	  "the verifier's challenge (up to 64 bytes)" },
	{ ARG_CA, OPT_CA, "--ca CAFILE", "the CA the host's certificate must "
	  "chain to" },
	{ ARG_MEASUREMENT, OPT_MEASUREMENT, "--measurement HEX",
	  "the launch measurement expected" },
};

/* The command line, parsed. Reset by cvmctl_prepare(). */
static bool arg_json;
static const char *arg_connect;
static const char *arg_connects[CVM_MAX_HOSTS];
static unsigned int arg_nr_connects;
static bool arg_too_many_hosts;
static const char *arg_pki_dir;
static int arg_timeout_ms;
static bool arg_timeout_set; /* --timeout given (hook has its own default) */
static uint64_t arg_memory;
static uint64_t arg_memlock_limit;
static Cvm__PinMode arg_pin;
static bool arg_shared;
static uint64_t arg_pages;
static const char *arg_data;
static const char *arg_file;
static uint64_t arg_length;
static const char *arg_output;
static const char *arg_nonce;
static const char *arg_ca;
static const char *arg_measurement;
static unsigned int arg_given; /* enum cvm_opt bits seen */

struct cvm_verb {
	const char *name;
	/* Check the arguments and fill c->req: 0 or -EINVAL (reported). */
	int (*build)(struct cvm_call *c, char **args);
	/* Print a successful answer: an exit status. */
	int (*print)(struct cvm_call *c, const Cvm__Response *resp);
	unsigned int min_args, max_args; /* positional, after the verb */
	unsigned int options;		 /* enum cvm_opt bits it takes */
	bool stream;			 /* answered by a stream (events) */
	const char *synopsis;
	const char *help;
};

static const struct cvm_verb *current_verb;

/* "cvmctl: " or "cvmctl: VERB: ", for usage errors. */
static void print_prefix(void)
{
	fputs("cvmctl: ", stderr);
	if (current_verb)
		fprintf(stderr, "%s: ", current_verb->name);
}

static void print_json_error(const char *status, const char *message, int err)
{
	/* A stream (events) prints one object per line, errors too. */
	if (arg_json)
		cvm_json_print(stdout, cvm_json_error(status, message, err),
			       current_verb && current_verb->stream);
}

/* Report a usage error; return -EINVAL. */
static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_prefix();
	fprintf(stderr, "%s\n", msg);
	print_json_error("USAGE", msg, EINVAL);
	return -EINVAL;
}

static int size_error(const char *opt, const char *s, int err)
{
	if (err == -ERANGE)
		return usage_error("%s: '%s' is too large", opt, s);
	return usage_error("%s: '%s' is not a SIZE (bytes, with an optional "
			   "K, M, G, KiB, MiB or GiB suffix)", opt, s);
}

static int number_error(const char *what, const char *s, int err)
{
	switch (err) {
	case -ERANGE:
		return usage_error("%s: '%s' is too large", what, s);
	case -EDOM:
		return usage_error("%s: '%s' is not page aligned (a multiple "
				   "of %" PRIu64 ")", what, s, CVM_PAGE_SIZE);
	}
	return usage_error("%s: '%s' is not a number (decimal or 0x-hex)",
			   what, s);
}

/* Parse one option's value into its arg_ global. */
static int parse_option(int val, const char *value)
{
	uint64_t v;
	int r;

	switch (val) {
	case 'c':
		/* Repeated: list, status and events cover every host. */
		if (arg_nr_connects == CVM_MAX_HOSTS) {
			arg_too_many_hosts = true;
			return usage_error("-c: at most %d hosts",
					   CVM_MAX_HOSTS);
		}
		if (!arg_nr_connects)
			arg_connect = value;
		arg_connects[arg_nr_connects++] = value;
		return 0;
	case ARG_PKI_DIR:
		arg_pki_dir = value;
		return 0;
	case ARG_JSON:
		arg_json = true;
		return 0;
	case ARG_TIMEOUT:
		arg_timeout_set = true;
		r = cvm_parse_timeout(value, &arg_timeout_ms);
		if (r == -ERANGE)
			return usage_error("--timeout: '%s' is too large (at "
					   "most %d seconds)", value,
					   INT32_MAX / 1000);
		if (r)
			return usage_error("--timeout: '%s' is not a number of "
					   "seconds (0: wait forever)", value);
		return 0;
	case ARG_MEMORY:
		r = cvm_parse_size(value, &arg_memory);
		if (r)
			return size_error("--memory", value, r);
		if (!arg_memory || arg_memory % CVM_PAGE_SIZE)
			return usage_error("--memory: '%s' is not a positive "
					   "multiple of 4 KiB", value);
		return 0;
	case ARG_MEMLOCK_LIMIT:
		r = cvm_parse_size(value, &arg_memlock_limit);
		if (r)
			return size_error("--memlock-limit", value, r);
		if (!arg_memlock_limit)
			return usage_error("--memlock-limit: must be more than "
					   "0 (leave it out for cvmd's "
					   "default)");
		return 0;
	case ARG_PIN:
		if (cvm_parse_pin(value, &arg_pin))
			return usage_error("--pin: '%s' is neither 'demand' "
					   "nor 'upfront'", value);
		return 0;
	case ARG_SHARED:
		arg_shared = true;
		return 0;
	case ARG_PAGES:
		r = cvm_parse_number(value, &arg_pages);
		if (r)
			return number_error("--pages", value, r);
		if (!arg_pages)
			return usage_error("--pages: must be at least 1");
		if (arg_pages > UINT64_MAX / CVM_PAGE_SIZE)
			return usage_error("--pages: '%s' is too large", value);
		return 0;
	case ARG_DATA:
		arg_data = value;
		return 0;
	case ARG_FILE:
		arg_file = value;
		return 0;
	case ARG_LENGTH:
		r = cvm_parse_size(value, &v);
		if (r)
			return size_error("--length", value, r);
		if (!v)
			return usage_error("--length: must be at least 1");
		if (v > CVM_IO_MAX)
			return usage_error("--length: '%s' is more than 1 MiB "
					   "(%u bytes)", value, CVM_IO_MAX);
		arg_length = v;
		return 0;
	case 'o':
		arg_output = value;
		return 0;
	case ARG_NONCE:
		arg_nonce = value;
		return 0;
	case ARG_CA:
		arg_ca = value;
		return 0;
	case ARG_MEASUREMENT:
		arg_measurement = value;
		return 0;
	}
	return usage_error("internal error: option %d", val);
}

static unsigned int option_bit(int val)
{
	size_t i;

	for (i = 0; i < sizeof(command_options) / sizeof(command_options[0]);
	     i++)
		if (command_options[i].val == val)
			return command_options[i].bit;
	return 0;
}

/* "--pages" for a getopt value. */
static const char *option_name(int val, char *buf, size_t len)
{
	const struct option *o;

	for (o = long_options; o->name; o++)
		if (o->val == val) {
			snprintf(buf, len, "--%s", o->name);
			return buf;
		}
	snprintf(buf, len, "-%c", val);
	return buf;
}

/* "cvmctl share NAME GPA [--pages N]", for usage errors. */
static const char *usage_of(const struct cvm_verb *v, char *buf, size_t len)
{
	snprintf(buf, len, "cvmctl %s%s%s", v->name, *v->synopsis ? " " : "",
		 v->synopsis);
	return buf;
}

static void reset_args(void)
{
	arg_json = false;
	arg_connect = NULL;
	arg_nr_connects = 0;
	arg_too_many_hosts = false;
	arg_pki_dir = NULL;
	arg_timeout_ms = DEFAULT_TIMEOUT_MS;
	arg_timeout_set = false;
	arg_memory = 0;
	arg_memlock_limit = 0;
	arg_pin = CVM__PIN_MODE__DEMAND;
	arg_shared = false;
	arg_pages = 1;
	arg_data = NULL;
	arg_file = NULL;
	arg_length = 0;
	arg_output = NULL;
	arg_nonce = NULL;
	arg_ca = NULL;
	arg_measurement = NULL;
	arg_given = 0;
	current_verb = NULL;
}

/* --- building requests --------------------------------------------------- */

static void set_op(struct cvm_call *c, Cvm__Request__OpCase op, void *msg)
{
	c->req.op_case = op;
	/* Every member of the oneof is a pointer to a message. */
	c->req.status = msg;
}

static int check_gpa(const char *s, uint64_t align, uint64_t *ret)
{
	int r = cvm_parse_gpa(s, align, ret);

	return r ? number_error("GPA", s, r) : 0;
}

/* GPA plus len bytes must not wrap around. */
static int check_range(uint64_t gpa, uint64_t len)
{
	if (len && gpa > UINT64_MAX - (len - 1))
		return usage_error("GPA 0x%" PRIx64 " plus %" PRIu64
				   " bytes runs past the end of the address "
				   "space", gpa, len);
	return 0;
}

static int verb_status(struct cvm_call *c, char **args)
{
	(void)args;
	cvm__status_request__init(&c->op.status);
	set_op(c, CVM__REQUEST__OP_STATUS, &c->op.status);
	return 0;
}

static int verb_list(struct cvm_call *c, char **args)
{
	(void)args;
	cvm__list_request__init(&c->op.list);
	set_op(c, CVM__REQUEST__OP_LIST, &c->op.list);
	return 0;
}

static int verb_show(struct cvm_call *c, char **args)
{
	(void)args;
	cvm__show_request__init(&c->op.show);
	c->op.show.name = (char *)c->name;
	set_op(c, CVM__REQUEST__OP_SHOW, &c->op.show);
	return 0;
}

static int verb_create(struct cvm_call *c, char **args)
{
	(void)args;
	if (!(arg_given & OPT_MEMORY))
		return usage_error("--memory SIZE is required (usage: "
				   "cvmctl create %s)", c->verb->synopsis);
	cvm__create_request__init(&c->op.create);
	c->op.create.name = (char *)c->name;
	c->op.create.memory_bytes = arg_memory;
	c->op.create.memlock_limit_bytes = arg_memlock_limit;
	c->op.create.pin = arg_pin;
	set_op(c, CVM__REQUEST__OP_CREATE, &c->op.create);
	return 0;
}

static int verb_destroy(struct cvm_call *c, char **args)
{
	(void)args;
	cvm__destroy_request__init(&c->op.destroy);
	c->op.destroy.name = (char *)c->name;
	set_op(c, CVM__REQUEST__OP_DESTROY, &c->op.destroy);
	return 0;
}

static int lifecycle(struct cvm_call *c, Cvm__LifecycleOp op)
{
	cvm__lifecycle_request__init(&c->op.lifecycle);
	c->op.lifecycle.name = (char *)c->name;
	c->op.lifecycle.op = op;
	c->op.lifecycle.op_set_case = CVM__LIFECYCLE_REQUEST__OP_SET_OP;
	set_op(c, CVM__REQUEST__OP_LIFECYCLE, &c->op.lifecycle);
	return 0;
}

static int verb_init_start(struct cvm_call *c, char **args)
{
	(void)args;
	return lifecycle(c, CVM__LIFECYCLE_OP__INIT_START);
}

static int verb_init_done(struct cvm_call *c, char **args)
{
	(void)args;
	return lifecycle(c, CVM__LIFECYCLE_OP__INIT_DONE);
}

static int verb_init_abort(struct cvm_call *c, char **args)
{
	(void)args;
	return lifecycle(c, CVM__LIFECYCLE_OP__INIT_ABORT);
}

static int verb_terminate(struct cvm_call *c, char **args)
{
	(void)args;
	return lifecycle(c, CVM__LIFECYCLE_OP__TERMINATE);
}

/* A page operation on the page-aligned range GPA .. GPA + pages. */
static int page_op(struct cvm_call *c, char **args, Cvm__PageOp op)
{
	int r;

	r = check_gpa(args[1], CVM_PAGE_SIZE, &c->gpa);
	if (r)
		return r;
	c->pages = arg_pages;
	r = check_range(c->gpa, c->pages * CVM_PAGE_SIZE);
	if (r)
		return r;
	cvm__page_request__init(&c->op.page);
	c->op.page.name = (char *)c->name;
	c->op.page.op = op;
	c->op.page.op_set_case = CVM__PAGE_REQUEST__OP_SET_OP;
	c->op.page.gpa = c->gpa;
	c->op.page.pages = c->pages;
	set_op(c, CVM__REQUEST__OP_PAGE, &c->op.page);
	return 0;
}

static int verb_page_in(struct cvm_call *c, char **args)
{
	return page_op(c, args,
		       arg_shared ? CVM__PAGE_OP__PAGE_IN_SHARED
				  : CVM__PAGE_OP__PAGE_IN);
}

static int verb_page_out(struct cvm_call *c, char **args)
{
	return page_op(c, args, CVM__PAGE_OP__PAGE_OUT);
}

static int verb_share(struct cvm_call *c, char **args)
{
	return page_op(c, args, CVM__PAGE_OP__SHARE);
}

static int verb_unshare(struct cvm_call *c, char **args)
{
	return page_op(c, args, CVM__PAGE_OP__UNSHARE);
}

static int verb_dma_share(struct cvm_call *c, char **args)
{
	return page_op(c, args, CVM__PAGE_OP__DMA_SHARE);
}

static int verb_dma_unshare(struct cvm_call *c, char **args)
{
	return page_op(c, args, CVM__PAGE_OP__DMA_UNSHARE);
}

/* Read all of path ("-": stdin), at most CVM_IO_MAX bytes. */
static int read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	size_t len = 0;
	uint8_t *buf;
	ssize_t n;
	int fd, err = 0;

	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0)
		return -errno;
	/* One byte more than allowed, to tell "too large" from "full". */
	buf = malloc(CVM_IO_MAX + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (len < CVM_IO_MAX + 1) {
		n = read(fd, buf + len, CVM_IO_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out;
		}
		if (!n)
			break;
		len += n;
	}
	if (len > CVM_IO_MAX) {
		err = -EFBIG;
		goto out;
	}
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	if (fd > 0)
		close(fd);
	return err;
}

static int verb_guest_write(struct cvm_call *c, char **args)
{
	const uint8_t *data;
	size_t len = 0;
	int r;

	r = check_gpa(args[1], 0, &c->gpa);
	if (r)
		return r;
	if (!!arg_data == !!arg_file)
		return usage_error("give exactly one of --data STR and "
				   "--file F");
	if (arg_data) {
		data = (const uint8_t *)arg_data;
		len = strlen(arg_data);
		if (len > CVM_IO_MAX)
			return usage_error("--data: more than 1 MiB (%zu "
					   "bytes)", len);
	} else {
		r = read_file(arg_file, &c->file_data, &len);
		if (r == -EFBIG)
			return usage_error("--file: '%s' is larger than 1 MiB",
					   arg_file);
		if (r)
			return usage_error("--file: cannot read '%s': %s",
					   arg_file, strerror(-r));
		data = c->file_data;
	}
	if (!len)
		return usage_error("%s: nothing to write (empty)",
				   arg_data ? "--data" : "--file");
	r = check_range(c->gpa, len);
	if (r)
		return r;
	cvm__guest_write_request__init(&c->op.guest_write);
	c->op.guest_write.name = (char *)c->name;
	c->op.guest_write.gpa = c->gpa;
	c->op.guest_write.data.data = (uint8_t *)data;
	c->op.guest_write.data.len = len;
	set_op(c, CVM__REQUEST__OP_GUEST_WRITE, &c->op.guest_write);
	return 0;
}

static int read_op(struct cvm_call *c, char **args, bool host)
{
	int r;

	r = check_gpa(args[1], 0, &c->gpa);
	if (r)
		return r;
	if (!(arg_given & OPT_LENGTH))
		return usage_error("--length N is required (usage: cvmctl %s "
				   "%s)", c->verb->name, c->verb->synopsis);
	r = check_range(c->gpa, arg_length);
	if (r)
		return r;
	cvm__read_request__init(&c->op.read);
	c->op.read.name = (char *)c->name;
	c->op.read.gpa = c->gpa;
	c->op.read.length = arg_length;
	c->op.read.host = host;
	set_op(c, CVM__REQUEST__OP_READ, &c->op.read);
	return 0;
}

static int verb_guest_read(struct cvm_call *c, char **args)
{
	return read_op(c, args, false);
}

static int verb_host_read(struct cvm_call *c, char **args)
{
	return read_op(c, args, true);
}

static int verb_snapshot(struct cvm_call *c, char **args)
{
	(void)args;
	if (arg_output && !*arg_output)
		return usage_error("--output: empty file name");
	cvm__snapshot_request__init(&c->op.snapshot);
	c->op.snapshot.name = (char *)c->name;
	set_op(c, CVM__REQUEST__OP_SNAPSHOT, &c->op.snapshot);
	return 0;
}

static int verb_events(struct cvm_call *c, char **args)
{
	(void)args;
	cvm__watch_request__init(&c->op.watch);
	if (c->name)
		c->op.watch.name = (char *)c->name;
	set_op(c, CVM__REQUEST__OP_WATCH, &c->op.watch);
	return 0;
}

/* --- printing answers ---------------------------------------------------- */

/* "VERB 'NAME'" or "VERB", the subject of every message. */
static void who(const struct cvm_call *c, char *buf, size_t len)
{
	if (c->name)
		snprintf(buf, len, "%s '%s'", c->verb->name, c->name);
	else
		snprintf(buf, len, "%s", c->verb->name);
}

/* A successful answer without the result it should carry. */
static int missing_result(struct cvm_call *c, const char *what)
{
	char subject[512];

	who(c, subject, sizeof(subject));
	fprintf(stderr, "cvmctl: %s failed: cvmd's answer carries no %s\n",
		subject, what);
	print_json_error("INTERNAL", "cvmd's answer carries no result", EIO);
	return CVM_EXIT_FAILED;
}

static int print_status(struct cvm_call *c, const Cvm__Response *resp)
{
	if (resp->result_case != CVM__RESPONSE__RESULT_DAEMON)
		return missing_result(c, "daemon status");
	if (arg_json)
		cvm_json_print(stdout, cvm_json_status(resp->daemon), false);
	else
		cvm_print_status(stdout, resp->daemon);
	return CVM_EXIT_OK;
}

static int print_list(struct cvm_call *c, const Cvm__Response *resp)
{
	const Cvm__VmList *list = NULL;

	/* An empty list may arrive as no result at all (proto3). */
	if (resp->result_case == CVM__RESPONSE__RESULT_LIST)
		list = resp->list;
	else if (resp->result_case != CVM__RESPONSE__RESULT__NOT_SET)
		return missing_result(c, "VM list");
	if (arg_json)
		cvm_json_print(stdout, cvm_json_list(list), false);
	else
		cvm_print_list(stdout, list);
	return CVM_EXIT_OK;
}

static int print_show(struct cvm_call *c, const Cvm__Response *resp)
{
	if (resp->result_case != CVM__RESPONSE__RESULT_VM)
		return missing_result(c, "VM");
	if (arg_json)
		cvm_json_print(stdout, cvm_json_vm(resp->vm), false);
	else
		cvm_print_vm(stdout, resp->vm);
	return CVM_EXIT_OK;
}

/* Mutating verbs: the VM object, or one short line. */
static int print_changed(struct cvm_call *c, const Cvm__Response *resp)
{
	const Cvm__VmInfo *vm = resp->result_case == CVM__RESPONSE__RESULT_VM
					? resp->vm
					: NULL;
	struct json_object *o;
	char size[32];

	if (arg_json) {
		if (vm) {
			o = cvm_json_vm(vm);
		} else {
			o = json_object_new_object();
			if (o)
				json_object_object_add(
					o, "name",
					json_object_new_string(c->name));
		}
		cvm_json_print(stdout, o, false);
		return CVM_EXIT_OK;
	}

	switch (c->req.op_case) {
	case CVM__REQUEST__OP_CREATE:
		cvm_format_size(c->op.create.memory_bytes, size, sizeof(size));
		printf("%s: created (%s, %s)\n", c->name,
		       vm ? cvm_vm_state_name(vm->state) : "normal", size);
		break;
	case CVM__REQUEST__OP_DESTROY:
		printf("%s: destroyed\n", c->name);
		break;
	case CVM__REQUEST__OP_LIFECYCLE:
		if (vm)
			printf("%s: %s\n", c->name,
			       cvm_vm_state_name(vm->state));
		else
			printf("%s: %s done\n", c->name, c->verb->name);
		break;
	case CVM__REQUEST__OP_PAGE:
		if (c->pages > 1)
			printf("%s: %s 0x%" PRIx64 " (%" PRIu64
			       " pages) done\n",
			       c->name, c->verb->name, c->gpa, c->pages);
		else
			printf("%s: %s 0x%" PRIx64 " done\n", c->name,
			       c->verb->name, c->gpa);
		break;
	case CVM__REQUEST__OP_GUEST_WRITE:
		printf("%s: wrote %zu bytes at 0x%" PRIx64 "\n", c->name,
		       c->op.guest_write.data.len, c->gpa);
		break;
	case CVM__REQUEST__OP__NOT_SET:
	case CVM__REQUEST__OP_STATUS:
	case CVM__REQUEST__OP_LIST:
	case CVM__REQUEST__OP_SHOW:
	case CVM__REQUEST__OP_READ:
	case CVM__REQUEST__OP_SNAPSHOT:
	case CVM__REQUEST__OP_WATCH:
	case CVM__REQUEST__OP_ATTEST:
	case _CVM__REQUEST__OP__CASE_IS_INT_SIZE:
		printf("%s: %s done\n", c->name, c->verb->name);
		break;
	}
	return CVM_EXIT_OK;
}

static int print_data(struct cvm_call *c, const Cvm__Response *resp)
{
	ProtobufCBinaryData data = { 0, NULL };

	/* Zero bytes may arrive as no result at all (proto3). */
	if (resp->result_case == CVM__RESPONSE__RESULT_DATA)
		data = resp->data;
	else if (resp->result_case != CVM__RESPONSE__RESULT__NOT_SET)
		return missing_result(c, "data");
	if (arg_json)
		cvm_json_print(stdout, cvm_json_data(c->gpa, data.data, data.len),
			       false);
	else if (data.len)
		fwrite(data.data, 1, data.len, stdout);
	return CVM_EXIT_OK;
}

static int print_snapshot(struct cvm_call *c, const Cvm__Response *resp)
{
	const Cvm__Snapshot *snap = NULL;
	char subject[512];
	FILE *f = stdout;
	size_t n;
	int err = 0;

	if (resp->result_case == CVM__RESPONSE__RESULT_SNAPSHOT)
		snap = resp->snapshot;
	else if (resp->result_case != CVM__RESPONSE__RESULT__NOT_SET)
		return missing_result(c, "snapshot");
	n = snap ? snap->n_gfns : 0;

	if (arg_output && strcmp(arg_output, "-")) {
		f = fopen(arg_output, "we");
		if (!f)
			err = -errno;
	}
	if (!err) {
		if (arg_json)
			cvm_json_print(f, cvm_json_snapshot(snap), false);
		else
			cvm_print_snapshot(f, snap);
		if (f != stdout && fclose(f))
			err = -errno;
	}
	if (err) {
		who(c, subject, sizeof(subject));
		fprintf(stderr, "cvmctl: %s failed: cannot write '%s': %s\n",
			subject, arg_output, strerror(-err));
		print_json_error("IO", strerror(-err), err);
		return CVM_EXIT_FAILED;
	}
	if (f == stdout)
		return CVM_EXIT_OK;
	if (arg_json) {
		struct json_object *o = json_object_new_object();

		if (o) {
			json_object_object_add(o, "name",
					       json_object_new_string(c->name));
			json_object_object_add(o, "file",
					       json_object_new_string(arg_output));
			json_object_object_add(o, "gfns",
					       json_object_new_uint64(
						       cvm_snapshot_pages(snap)));
			json_object_object_add(o, "runs",
					       json_object_new_uint64(n));
		}
		cvm_json_print(stdout, o, false);
	} else {
		printf("%s: snapshot of %" PRIu64 " GFNs in %zu runs written to %s\n",
		       c->name, cvm_snapshot_pages(snap), n, arg_output);
	}
	return CVM_EXIT_OK;
}

/* --- the command table --------------------------------------------------- */

static const struct cvm_verb verbs[] = {
	{ "status", verb_status, print_status, 0, 0, 0, false, "",
	  "cvmd's version, backend, VM count and secure pool" },
	{ "list", verb_list, print_list, 0, 0, 0, false, "",
	  "every VM: name, state, memory, pinned memory, UUID" },
	{ "show", verb_show, print_show, 1, 1, 0, false, "NAME",
	  "one VM in detail" },
	{ "create", verb_create, print_changed, 1, 1,
	  OPT_MEMORY | OPT_MEMLOCK_LIMIT | OPT_PIN, false,
	  "NAME --memory SIZE [--memlock-limit SIZE] [--pin demand|upfront]",
	  "create a VM (normal) and start its VMM" },
	{ "destroy", verb_destroy, print_changed, 1, 1, 0, false, "NAME",
	  "stop a VM's VMM and forget the VM" },
	{ "init-start", verb_init_start, print_changed, 1, 1, 0, false, "NAME",
	  "INIT_START: normal -> transient" },
	{ "init-done", verb_init_done, print_changed, 1, 1, 0, false, "NAME",
	  "INIT_DONE: transient -> secure" },
	{ "init-abort", verb_init_abort, print_changed, 1, 1, 0, false, "NAME",
	  "INIT_ABORT: transient -> normal" },
	{ "terminate", verb_terminate, print_changed, 1, 1, 0, false, "NAME",
	  "TERMINATE: any state -> normal" },
	{ "page-in", verb_page_in, print_changed, 2, 2, OPT_SHARED, false,
	  "NAME GPA [--shared]", "move a page into secure memory" },
	{ "page-out", verb_page_out, print_changed, 2, 2, 0, false,
	  "NAME GPA", "encrypt a secure page out to host memory" },
	{ "share", verb_share, print_changed, 2, 2, OPT_PAGES, false,
	  "NAME GPA [--pages N]", "convert pages to shared" },
	{ "unshare", verb_unshare, print_changed, 2, 2, OPT_PAGES, false,
	  "NAME GPA [--pages N]", "convert pages to secure" },
	{ "dma-share", verb_dma_share, print_changed, 2, 2, OPT_PAGES, false,
	  "NAME GPA [--pages N]", "take a DMA share of pages" },
	{ "dma-unshare", verb_dma_unshare, print_changed, 2, 2, OPT_PAGES,
	  false, "NAME GPA [--pages N]", "release a DMA share of pages" },
	{ "guest-write", verb_guest_write, print_changed, 2, 2,
	  OPT_DATA | OPT_FILE, false, "NAME GPA (--data STR | --file F)",
	  "write bytes as the guest would" },
	{ "guest-read", verb_guest_read, print_data, 2, 2, OPT_LENGTH, false,
	  "NAME GPA --length N", "read bytes as the guest sees them" },
	{ "host-read", verb_host_read, print_data, 2, 2, OPT_LENGTH, false,
	  "NAME GPA --length N", "read bytes as the host (VMM) sees them" },
	{ "snapshot", verb_snapshot, print_snapshot, 1, 1, OPT_OUTPUT, false,
	  "NAME [-o FILE]", "every GFN's state, flags and DMA references" },
	{ "events", verb_events, NULL, 0, 1, 0, true, "[NAME]",
	  "follow state changes and errors until interrupted" },
	{ "attest", cvmctl_attest_build, cvmctl_attest_print, 1, 1,
	  OPT_NONCE | OPT_OUTPUT, false, "NAME [--nonce HEX] [-o FILE]",
	  "a launch report of the VM, signed by the host (docs/attestation.md)" },
	{ "verify-report", cvmctl_verify_build, NULL, 1, 1,
	  OPT_CA | OPT_NONCE | OPT_MEASUREMENT, false,
	  "FILE --ca CAFILE [--nonce HEX] [--measurement HEX]",
	  "check a launch report offline: exit 0 valid, 1 invalid (says why)" },
	{ "hook", cvmctl_hook_build, NULL, 0, 5, 0, false,
	  "qemu DOMAIN OP SUBOP EXTRA",
	  "libvirt's qemu hook, domain XML on stdin (docs/libvirt.md)" },
};

static const struct cvm_verb *find_verb(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

const char *cvmctl_verb_name(const struct cvm_call *c)
{
	return c->verb ? c->verb->name : NULL;
}

static void print_usage(FILE *f)
{
	size_t i;

	fputs("Usage: cvmctl [-c|--connect URI]... [--pki-dir DIR] [--json] "
	      "[--timeout S] "
	      "COMMAND ...\n\n"
	      "Control cvmd, the confidential VM daemon.\n\n"
	      "Options:\n"
	      "  -c, --connect URI  unix:PATH or tls://HOST[:PORT] (default: "
	      "$" CVM_URI_ENV ",\n"
	      "                     else " CVM_URI_DEFAULT "); repeat it\n"
	      "                     for list, status and events on several "
	      "hosts\n"
	      "      --pki-dir DIR  tls: DIR/cacert.pem, clientcert.pem, "
	      "clientkey.pem\n"
	      "                     (default ~/.pki/cvm, else /etc/pki)\n"
	      "      --json         print one JSON document\n"
	      "      --timeout S    wait at most S seconds for cvmd "
	      "(default 30; 0: forever)\n"
	      "  -h, --help         this text; 'cvmctl COMMAND --help' for "
	      "one command\n\n"
	      "Commands:\n",
	      f);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(f, "  %s%s%s\n", verbs[i].name,
			*verbs[i].synopsis ? " " : "", verbs[i].synopsis);
	fputs("\nSIZE: bytes with an optional K, M, G suffix (binary; KiB, "
	      "MiB, GiB too).\n"
	      "GPA: decimal or 0x-hex; page aligned (4096) except for "
	      "guest-write,\nguest-read and host-read.\n\n"
	      "Exit status: 0 done, 1 refused or failed, 2 usage error, "
	      "3 cvmd unreachable\nor access denied.\n",
	      f);
}

static void print_verb_usage(FILE *f, const struct cvm_verb *v)
{
	size_t i;

	fprintf(f, "Usage: cvmctl [-c URI] [--json] [--timeout S] %s%s%s\n\n"
		   "%s.\n",
		v->name, *v->synopsis ? " " : "", v->synopsis, v->help);
	if (!v->options)
		return;
	fputs("\nOptions:\n", f);
	for (i = 0; i < sizeof(command_options) / sizeof(command_options[0]);
	     i++)
		if (v->options & command_options[i].bit)
			fprintf(f, "  %-22s %s\n", command_options[i].name,
				command_options[i].help);
}

/* --- the command line ---------------------------------------------------- */

/* Report what getopt refused; return -EINVAL. */
static int getopt_error(int r, char **argv)
{
	const char *opt = argv[optind - 1];

	if (r == ':') {
		if (optopt && optopt < 0x100 && opt[1] != '-')
			return usage_error("option '-%c' needs a value",
					   optopt);
		return usage_error("option '%s' needs a value", opt);
	}
	if (optopt && optopt < 0x100 && opt[1] != '-')
		return usage_error("unknown option '-%c'", optopt);
	return usage_error("unknown option '%s'", opt);
}

static int resolve_one(const char *what, const char *str, struct cvm_uri *uri)
{
	switch (cvm_parse_uri(str, uri)) {
	case 0:
		return 0;
	case -EPROTONOSUPPORT:
		return usage_error("%s: unknown scheme in '%s' (expected "
				   "unix:PATH or tls://HOST[:PORT])",
				   what, str);
	case -ENAMETOOLONG:
		return usage_error("%s: '%s': path or host name too long", what,
				   str);
	}
	return usage_error("%s: '%s' is not unix:PATH or tls://HOST[:PORT]",
			   what, str);
}

static int resolve_uri(struct cvm_call *c)
{
	const char *what = arg_connect ? "--connect" : "$" CVM_URI_ENV;
	unsigned int i;
	int r;

	c->pki_dir = arg_pki_dir;
	c->uri_str = cvm_uri_pick(arg_connect, getenv(CVM_URI_ENV));
	r = resolve_one(what, c->uri_str, &c->uri);
	if (r)
		return r;
	c->nr_hosts = 1;
	c->uri_strs[0] = c->uri_str;
	c->uris[0] = c->uri;
	if (arg_nr_connects < 2)
		return 0;
	if (strcmp(c->verb->name, "list") && strcmp(c->verb->name, "status") &&
	    strcmp(c->verb->name, "events"))
		return usage_error("-c given %u times: only list, status and "
				   "events cover several hosts",
				   arg_nr_connects);
	for (i = 1; i < arg_nr_connects; i++) {
		r = resolve_one("--connect", arg_connects[i], &c->uris[i]);
		if (r)
			return r;
		c->uri_strs[i] = arg_connects[i];
	}
	c->nr_hosts = arg_nr_connects;
	return 0;
}

int cvmctl_prepare(int argc, char **argv, struct cvm_call *c)
{
	char **args = NULL, name[32], usage[256];
	unsigned int n = 0, bit;
	int r, vargc;
	char **vargv;

	memset(c, 0, sizeof(*c));
	cvm__request__init(&c->req);
	c->req.id = 1;
	reset_args();

	/* Global options, up to COMMAND. */
	opterr = 0;
	optind = 0;
	while ((r = getopt_long(argc, argv, "+:c:h", long_options, NULL)) !=
	       -1) {
		if (r == '?' || r == ':')
			return getopt_error(r, argv);
		if (r == 'h') {
			c->help = true;
			continue;
		}
		if (option_bit(r))
			return usage_error("option '%s' goes after the command",
					   option_name(r, name, sizeof(name)));
		if (parse_option(r, optarg))
			return -EINVAL;
	}
	if (optind >= argc) {
		if (c->help)
			return 0;
		return usage_error("no command given (see 'cvmctl --help')");
	}
	c->verb = find_verb(argv[optind]);
	if (!c->verb)
		return usage_error("unknown command '%s' (see 'cvmctl --help')",
				   argv[optind]);
	current_verb = c->verb;

	/*
	 * The command's options and arguments, in any order ("-" returns
	 * arguments as they come, whatever POSIXLY_CORRECT says).
	 */
	vargc = argc - optind;
	vargv = argv + optind;
	args = calloc(vargc + 1, sizeof(*args));
	if (!args)
		return usage_error("out of memory");
	optind = 0;
	while ((r = getopt_long(vargc, vargv, "-:c:ho:", long_options, NULL)) !=
	       -1) {
		if (r == 1) {
			args[n++] = optarg;
			continue;
		}
		if (r == '?' || r == ':') {
			r = getopt_error(r, vargv);
			goto out;
		}
		if (r == 'h') {
			c->help = true;
			continue;
		}
		bit = option_bit(r);
		if (bit && !(c->verb->options & bit)) {
			r = usage_error("option '%s' does not apply (usage: "
					"%s)", option_name(r, name, sizeof(name)),
					usage_of(c->verb, usage, sizeof(usage)));
			goto out;
		}
		arg_given |= bit;
		if (parse_option(r, optarg)) {
			r = -EINVAL;
			goto out;
		}
	}
	/* After "--", everything is an argument. */
	while (optind < vargc)
		args[n++] = vargv[optind++];
	r = 0;
	if (c->help)
		goto out;

	if (n < c->verb->min_args || n > c->verb->max_args) {
		static const char *const names[] = { "NAME", "GPA" };

		usage_of(c->verb, usage, sizeof(usage));
		if (n < c->verb->min_args)
			r = usage_error("missing %s (usage: %s)",
					names[n < 2 ? n : 1], usage);
		else
			r = usage_error("unexpected argument '%s' (usage: %s)",
					args[c->verb->max_args], usage);
		goto out;
	}
	if (c->verb->max_args && n) {
		if (!*args[0]) {
			r = usage_error("empty VM name");
			goto out;
		}
		c->name = args[0];
	}
	c->nonce = arg_nonce;
	c->ca = arg_ca;
	c->measurement = arg_measurement;
	c->output = arg_output;
	c->json = arg_json;
	r = c->verb->build(c, args);
	if (!r)
		r = resolve_uri(c);
out:
	free(args);
	return r;
}

void cvmctl_call_done(struct cvm_call *c)
{
	free(c->file_data);
	c->file_data = NULL;
}

/* --- talking to cvmd ----------------------------------------------------- */

/* With several hosts, the one a message is about ("" otherwise). */
static const char *current_host = "";

/*
 * Report a transport error; return the exit status. @why: what OpenSSL
 * said, or "".
 */
static int report_transport(struct cvm_call *c, const char *uri_str,
			    const char *why, int err, bool connecting)
{
	char subject[512], msg[1024], detail[300] = "";

	who(c, subject, sizeof(subject));
	if (why && *why)
		snprintf(detail, sizeof(detail), " (%s)", why);
	if (connecting)
		snprintf(msg, sizeof(msg),
			 "cannot connect to cvmd at %s: %s%s%s", uri_str,
			 err == -EACCES	     ? "access denied"
			 : err == -EHOSTDOWN ? "unknown host"
			 : err == -ENOKEY    ? "no TLS credentials"
					     : strerror(-err),
			 detail,
			 err == -ENOENT || err == -ECONNREFUSED
			     ? " (is cvmd running?)"
			     : "");
	else if (err == -EACCES)
		snprintf(msg, sizeof(msg),
			 "cvmd at %s refused the connection: "
			 "access denied%s",
			 uri_str, detail);
	else if (err == -ETIMEDOUT)
		snprintf(msg, sizeof(msg),
			 "no answer from cvmd at %s within "
			 "%d s",
			 uri_str, arg_timeout_ms / 1000);
	else if (err == -ECONNRESET || err == -EPIPE)
		snprintf(msg, sizeof(msg),
			 "connection to cvmd at %s lost (%s)%s", uri_str,
			 strerror(-err), detail);
	else if (err == -EBADMSG || err == -EMSGSIZE || err == -EPROTO)
		snprintf(msg, sizeof(msg),
			 "cvmd at %s sent an invalid answer "
			 "(%s)",
			 uri_str, strerror(-err));
	else
		snprintf(msg, sizeof(msg), "talking to cvmd at %s: %s%s",
			 uri_str, strerror(-err), detail);
	fprintf(stderr, "cvmctl: %s: %s\n", subject, msg);
	print_json_error("UNREACHABLE", msg, err);
	return CVM_EXIT_UNREACHABLE;
}

/* Report a non-OK Status; return its exit status (exitcode.c's table). */
static int report_status(struct cvm_call *c, const Cvm__Response *resp)
{
	enum cvm_outcome outcome = cvm_outcome_from_status(resp->status);
	int err = resp->error ? resp->error
			      : cvm_errno_from_status(resp->status);
	const char *status = cvm_status_name(resp->status);
	char subject[512], fallback[256];
	const char *msg = resp->message;

	if (!msg || !*msg) {
		snprintf(fallback, sizeof(fallback), "%s (%s)", status,
			 strerror(err < 0 ? -err : err));
		msg = fallback;
	}
	who(c, subject, sizeof(subject));
	if (outcome == CVM_OUTCOME_DENIED)
		fprintf(stderr, "cvmctl: %s%s%s: access denied: %s\n",
			current_host, *current_host ? ": " : "", subject, msg);
	else
		fprintf(stderr, "cvmctl: %s%s%s %s: %s\n", current_host,
			*current_host ? ": " : "", subject,
			cvm_outcome_name(outcome), msg);
	print_json_error(status, msg, err);
	return cvm_exit_from_status(resp->status);
}

/*
 * An answer that may span frames (VmList.more, Snapshot.more): its
 * repeated field and its more flag, seen alike for either.
 */
struct cvm_span {
	size_t *n;
	void ***items;
	protobuf_c_boolean *more;
};

static bool span_of(Cvm__Response *r, Cvm__Response__ResultCase kind,
		    struct cvm_span *ret)
{
	if (r->status != CVM__STATUS__OK || r->result_case != kind)
		return false;
	switch (kind) {
	case CVM__RESPONSE__RESULT_LIST:
		ret->n = &r->list->n_vms;
		ret->items = (void ***)(void *)&r->list->vms;
		ret->more = &r->list->more;
		return true;
	case CVM__RESPONSE__RESULT_SNAPSHOT:
		ret->n = &r->snapshot->n_gfns;
		ret->items = (void ***)(void *)&r->snapshot->gfns;
		ret->more = &r->snapshot->more;
		return true;
	default:
		return false;
	}
}

/*
 * Read the rest of an answer that spans frames, and make @first hold
 * every item. The parts stay alive in @parts until the caller frees them.
 * Return: 0; 1 with *ret_failed set when cvmd ended the answer with an
 * error (its VMM went away); or -errno.
 */
static int span_rest(struct cvm_conn *conn, Cvm__Response *first,
		     Cvm__Response ***parts, size_t *nr_parts, void ***all,
		     Cvm__Response **ret_failed)
{
	struct cvm_span head, next_span;
	Cvm__Response *next, **p;
	size_t n;
	void **v;
	int r;

	span_of(first, first->result_case, &head);
	n = *head.n;
	*all = malloc(n * sizeof(**all) + 1);
	if (!*all)
		return -ENOMEM;
	memcpy(*all, *head.items, n * sizeof(**all));
	for (next_span = head; *next_span.more;) {
		r = cvm_conn_next(conn, -1, &next);
		if (r)
			return r;
		p = realloc(*parts, (*nr_parts + 1) * sizeof(*p));
		if (!p) {
			cvm__response__free_unpacked(next, NULL);
			return -ENOMEM;
		}
		*parts = p;
		p[(*nr_parts)++] = next;
		if (next->id != first->id)
			return -EPROTO;
		if (next->status != CVM__STATUS__OK) {
			*ret_failed = next;
			return 1;
		}
		if (!span_of(next, first->result_case, &next_span))
			return -EPROTO;
		v = realloc(*all, (n + *next_span.n) * sizeof(*v) + 1);
		if (!v)
			return -ENOMEM;
		*all = v;
		memcpy(v + n, *next_span.items, *next_span.n * sizeof(*v));
		n += *next_span.n;
	}
	*head.items = *all;
	*head.n = n;
	*head.more = false;
	return 0;
}

/* One host's answer, an answer spanning frames joined into its first. */
struct answer {
	Cvm__Response *resp;
	Cvm__Response **parts;
	size_t nr_parts;
	Cvm__Response *failed;	/* one of parts: the error that ended it */
	void **all, **own_items;
	size_t own_n;
	struct cvm_span span;
};

static void answer_free(struct answer *a)
{
	size_t i;

	if (a->own_items) {
		/* Its own array back, for protobuf-c to free. */
		*a->span.items = a->own_items;
		*a->span.n = a->own_n;
	}
	free(a->all);
	for (i = 0; i < a->nr_parts; i++)
		cvm__response__free_unpacked(a->parts[i], NULL);
	free(a->parts);
	if (a->resp)
		cvm__response__free_unpacked(a->resp, NULL);
	memset(a, 0, sizeof(*a));
}

/* Ask host @h; 0 with a->resp (any Status), or the exit status, reported. */
/* How reaching a host failed, kept to be reported by the caller. */
struct transport_err {
	int err;		/* -errno; 0: the answer came */
	bool connecting;	/* it failed before the request was sent */
	char why[512];		/* what OpenSSL said, or "" */
};

/*
 * Ask host @h and read its whole answer into @a, saying nothing: a
 * transport error is left in @e. Touches nothing shared but what it only
 * reads, so the hosts of a fan-out may be asked from threads at once.
 */
static int fetch_quiet(struct cvm_call *c, unsigned int h, struct answer *a,
		       struct transport_err *e)
{
	struct cvm_conn conn = CVM_CONN_INIT;
	Cvm__Response *resp;
	int r;

	conn.pki_dir = c->pki_dir;
	e->connecting = true;
	r = cvm_conn_open(&conn, &c->uris[h], arg_timeout_ms);
	if (r)
		goto out;
	e->connecting = false;
	r = cvm_conn_call(&conn, &c->req, arg_timeout_ms, &a->resp);
	if (r)
		goto out;
	resp = a->resp;
	if (span_of(resp, resp->result_case, &a->span) && *a->span.more) {
		a->own_items = *a->span.items;
		a->own_n = *a->span.n;
		r = span_rest(&conn, resp, &a->parts, &a->nr_parts, &a->all,
			      &a->failed);
		if (r > 0)
			r = 0;	/* the error that ended it is in a->failed */
	}
out:
	e->err = r;
	snprintf(e->why, sizeof(e->why), "%s", r ? conn.why : "");
	cvm_conn_close(&conn);
	if (r)
		answer_free(a);
	return r;
}

static int fetch(struct cvm_call *c, unsigned int h, struct answer *a)
{
	struct transport_err e;

	if (!fetch_quiet(c, h, a, &e))
		return 0;
	return report_transport(c, c->uri_strs[h], e.why, e.err,
				e.connecting);
}

struct fetch_job {
	struct cvm_call *c;
	unsigned int h;
	struct answer *a;
	struct transport_err e;
	pthread_t thread;
	bool threaded;
};

static void *fetch_job_run(void *arg)
{
	struct fetch_job *j = arg;

	fetch_quiet(j->c, j->h, j->a, &j->e);
	return NULL;
}

/*
 * Ask every host at once, a thread each: a fan-out takes as long as its
 * slowest host, not the sum, and hosts that do not answer cost --timeout
 * once, not once each. Nothing is printed until all are joined, so the
 * output and the errors keep the -c order. A thread that cannot be made
 * is done here, in turn.
 */
static void fetch_all(struct cvm_call *c, struct answer *a,
		      struct fetch_job *jobs)
{
	unsigned int h;

	for (h = 0; h < c->nr_hosts; h++) {
		jobs[h] = (struct fetch_job){ .c = c, .h = h, .a = &a[h] };
		jobs[h].threaded = !pthread_create(&jobs[h].thread, NULL,
						   fetch_job_run, &jobs[h]);
		if (!jobs[h].threaded)
			fetch_job_run(&jobs[h]);
	}
	for (h = 0; h < c->nr_hosts; h++)
		if (jobs[h].threaded)
			pthread_join(jobs[h].thread, NULL);
}

/* The answer's error: the one that ended a spanning answer, or its own. */
static const Cvm__Response *answer_error(const struct answer *a)
{
	if (a->failed)
		return a->failed;
	return a->resp->status != CVM__STATUS__OK ? a->resp : NULL;
}

static int run_call(struct cvm_call *c)
{
	struct answer a = {};
	const Cvm__Response *err;
	int r;

	r = fetch(c, 0, &a);
	if (r)
		return r;
	err = answer_error(&a);
	if (err)
		r = report_status(c, err);
	else
		r = c->verb->print(c, a.resp);
	answer_free(&a);
	return r;
}

/* The host as the host column shows it: tls's HOST[:PORT], else the URI. */
static void host_label(const struct cvm_call *c, unsigned int h, char *buf,
		       size_t len)
{
	const struct cvm_uri *u = &c->uris[h];

	if (u->kind != CVM_URI_TLS)
		snprintf(buf, len, "%s", c->uri_strs[h]);
	else if (u->port == CVM_TLS_PORT)
		snprintf(buf, len, strchr(u->host, ':') ? "[%s]" : "%s",
			 u->host);
	else
		snprintf(buf, len, strchr(u->host, ':') ? "[%s]:%u" : "%s:%u",
			 u->host, u->port);
}

/* Each element of array @a gets "host": @host, and goes into @into. */
static void json_add_hosts(struct json_object *into, struct json_object *a,
			   const char *host)
{
	size_t i;

	for (i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *o = json_object_array_get_idx(a, i);

		json_object_object_add(o, "host", json_object_new_string(host));
		json_object_array_add(into, json_object_get(o));
	}
	json_object_put(a);
}

/*
 * list or status over several hosts: each host asked in turn, the answers
 * printed together with the host named; a host that does not answer is
 * named on stderr and makes the exit status 3, the others still print.
 */
static int run_multi(struct cvm_call *c)
{
	bool is_list = c->req.op_case == CVM__REQUEST__OP_LIST;
	struct answer a[CVM_MAX_HOSTS] = {};
	struct fetch_job jobs[CVM_MAX_HOSTS];
	char labels[CVM_MAX_HOSTS][300];
	const Cvm__VmList *lists[CVM_MAX_HOSTS];
	const char *hosts[CVM_MAX_HOSTS];
	struct json_object *all = NULL;
	unsigned int h, n = 0;
	int r, worst = CVM_EXIT_OK;

	fetch_all(c, a, jobs);
	for (h = 0; h < c->nr_hosts; h++) {
		host_label(c, h, labels[h], sizeof(labels[h]));
		current_host = labels[h];
		r = jobs[h].e.err ? report_transport(c, c->uri_strs[h],
						     jobs[h].e.why,
						     jobs[h].e.err,
						     jobs[h].e.connecting)
				  : 0;
		if (!r && answer_error(&a[h])) {
			r = report_status(c, answer_error(&a[h]));
			answer_free(&a[h]);
		}
		if (!r && is_list &&
		    a[h].resp->result_case != CVM__RESPONSE__RESULT_LIST &&
		    a[h].resp->result_case != CVM__RESPONSE__RESULT__NOT_SET)
			r = missing_result(c, "VM list");
		if (!r && !is_list &&
		    a[h].resp->result_case != CVM__RESPONSE__RESULT_DAEMON)
			r = missing_result(c, "daemon status");
		if (r) {
			answer_free(&a[h]);
			worst = r > worst ? r : worst;
		}
	}
	current_host = "";
	if (arg_json)
		all = json_object_new_array();
	for (h = 0; h < c->nr_hosts; h++) {
		if (!a[h].resp)
			continue;
		if (is_list) {
			lists[n] =
			    a[h].resp->result_case == CVM__RESPONSE__RESULT_LIST
				? a[h].resp->list
				: NULL;
			hosts[n++] = labels[h];
			if (all)
				json_add_hosts(all, cvm_json_list(lists[n - 1]),
					       labels[h]);
		} else if (all) {
			struct json_object *o =
			    cvm_json_status(a[h].resp->daemon);

			json_object_object_add(
			    o, "host", json_object_new_string(labels[h]));
			json_object_array_add(all, o);
		} else {
			printf("%-15s %s\n", "host:", labels[h]);
			cvm_print_status(stdout, a[h].resp->daemon);
			if (h + 1 < c->nr_hosts)
				putchar('\n');
		}
	}
	if (all)
		cvm_json_print(stdout, all, false);
	else if (is_list)
		cvm_print_list_hosts(stdout, hosts, lists, n);
	for (h = 0; h < c->nr_hosts; h++)
		answer_free(&a[h]);
	return worst;
}

/*
 * events: print each streamed Event until SIGINT/SIGTERM or cvmd leaves;
 * with several hosts, from each (named in a host field) until the last
 * one leaves. A host that cannot be reached or that leaves is named and
 * makes the exit status 3.
 */
static int run_stream(struct cvm_call *c)
{
	struct cvm_conn conns[CVM_MAX_HOSTS], *live[CVM_MAX_HOSTS];
	unsigned int hidx[CVM_MAX_HOSTS];
	char labels[CVM_MAX_HOSTS][300];
	bool multi = c->nr_hosts > 1;
	int sfd = -1, r = 0, worst = CVM_EXIT_OK;
	size_t n = 0, i;
	Cvm__Response *resp;
	unsigned int h;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	for (h = 0; h < c->nr_hosts; h++) {
		struct cvm_conn *conn = &conns[h];

		*conn = (struct cvm_conn)CVM_CONN_INIT;
		conn->pki_dir = c->pki_dir;
		host_label(c, h, labels[h], sizeof(labels[h]));
		current_host = multi ? labels[h] : "";
		r = cvm_conn_open(conn, &c->uris[h], arg_timeout_ms);
		if (r) {
			worst = report_transport(c, c->uri_strs[h], conn->why,
						 r, true);
			continue;
		}
		r = cvm_conn_send(conn, &c->req, arg_timeout_ms);
		if (r) {
			worst = report_transport(c, c->uri_strs[h], conn->why,
						 r, false);
			cvm_conn_close(conn);
			continue;
		}
		hidx[n] = h;
		live[n++] = conn;
	}
	current_host = "";
	if (!n)
		return worst;
	/* From here on, SIGINT and SIGTERM end the stream, and exit 0. */
	if (sigprocmask(SIG_BLOCK, &mask, NULL) ||
	    (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "cvmctl: events: cannot watch for signals: "
				"%s\n", strerror(errno));
		worst = CVM_EXIT_FAILED;
		goto out;
	}
	while (n) {
		r = cvm_conn_next_any(live, n, sfd, &i, &resp);
		if (r == -EINTR)
			break;
		h = hidx[i];
		current_host = multi ? labels[h] : "";
		if (!r && resp->id != c->req.id) {
			cvm__response__free_unpacked(resp, NULL);
			r = -EPROTO;
		}
		if (r == -ECONNRESET && !*live[i]->why) {
			fprintf(stderr,
				"cvmctl: events: cvmd at %s closed the "
				"connection\n",
				c->uri_strs[h]);
			print_json_error("UNREACHABLE", "cvmd closed the "
					 "connection", ECONNRESET);
			r = CVM_EXIT_UNREACHABLE;
		} else if (r) {
			r = report_transport(c, c->uri_strs[h], live[i]->why, r,
					     false);
		} else if (resp->status != CVM__STATUS__OK) {
			r = report_status(c, resp);
			cvm__response__free_unpacked(resp, NULL);
		}
		if (r) {
			/* This host is done; the others go on. */
			worst = r > worst ? r : worst;
			cvm_conn_close(live[i]);
			live[i] = live[n - 1];
			hidx[i] = hidx[n - 1];
			n--;
			continue;
		}
		/* Anything but an Event (an acknowledgement) is skipped. */
		if (resp->result_case == CVM__RESPONSE__RESULT_EVENT) {
			if (arg_json) {
				struct json_object *o =
				    cvm_json_event(resp->event);

				if (multi && o)
					json_object_object_add(
					    o, "host",
					    json_object_new_string(labels[h]));
				cvm_json_print(stdout, o, true);
			} else {
				if (multi)
					printf("%s ", labels[h]);
				cvm_print_event(stdout, resp->event);
			}
			fflush(stdout);
		}
		cvm__response__free_unpacked(resp, NULL);
	}
out:
	current_host = "";
	for (i = 0; i < n; i++)
		cvm_conn_close(live[i]);
	if (sfd >= 0)
		close(sfd);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);
	return worst;
}

int cvmctl_main(int argc, char **argv)
{
	struct cvm_call c;
	int r;

	r = cvmctl_prepare(argc, argv, &c);
	if (r) {
		cvmctl_call_done(&c);
		return CVM_EXIT_USAGE;
	}
	if (c.help) {
		if (c.verb)
			print_verb_usage(stdout, c.verb);
		else
			print_usage(stdout);
		r = CVM_EXIT_OK;
	} else if (c.verb->build == cvmctl_verify_build) {
		r = cvmctl_verify_run(&c);
	} else if (c.verb->build == cvmctl_hook_build) {
		r = cvmctl_hook_run(&c, arg_timeout_set ? arg_timeout_ms
							: CVMCTL_HOOK_TIMEOUT_MS);
	} else {
		r = c.verb->stream   ? run_stream(&c)
		    : c.nr_hosts > 1 ? run_multi(&c)
				     : run_call(&c);
	}
	cvmctl_call_done(&c);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "cvmctl: writing to stdout: %s\n",
			strerror(errno));
		if (!r)
			r = CVM_EXIT_FAILED;
	}
	return r;
}
