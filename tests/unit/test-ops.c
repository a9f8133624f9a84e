// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * test-ops.c - the protocol's operation table (proto/cvm-ops.c) and cvmd's
 * handlers of it (daemon/operations.c) against the
 * protocol and the shipped polkit policy, the privileged surface written
 * out by hand, the D-Bus edge's requests built from the table, and the
 * one errno table (proto/cvm-frame.c): Status and D-Bus name agree.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bus.h"
#include "operations.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Every case of Request's oneof has a row, with the body the protocol says. */
static void test_rows_match_protocol(void **state)
{
	const ProtobufCMessageDescriptor *rd = &cvm__request__descriptor;
	const struct cvm_operation *op;
	unsigned int i, rows = 0;

	(void)state;
	for (i = 0; i < rd->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &rd->fields[i];

		if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			continue;
		op = cvm_operation((int)f->id);
		assert_non_null(op);
		assert_non_null(op->name);
		assert_non_null(cvmd_operation_handler((int)f->id));
		assert_ptr_equal(op->body, f->descriptor);
		assert_int_equal(op->body_offset, f->offset);
		rows++;
	}
	assert_int_equal(rows, 12);
	assert_null(cvm_operation(CVM__REQUEST__OP__NOT_SET));
	assert_null(cvm_operation(-1));
	assert_null(cvm_operation(1000));
	assert_null(cvmd_operation_handler(CVM__REQUEST__OP__NOT_SET));
	assert_null(cvmd_operation_handler(-1));
	assert_null(cvmd_operation_handler(1000));
}

/* The privileged surface, written out independently of the table. */
static const struct {
	int op;
	const char *name;
	enum cvm_privilege priv;
	bool vmm;
} surface[] = {
	{ CVM__REQUEST__OP_STATUS, "status", CVM_PRIV_READ, false },
	{ CVM__REQUEST__OP_LIST, "list", CVM_PRIV_READ, false },
	{ CVM__REQUEST__OP_SHOW, "show", CVM_PRIV_READ, true },
	{ CVM__REQUEST__OP_CREATE, "create", CVM_PRIV_MANAGE, false },
	{ CVM__REQUEST__OP_DESTROY, "destroy", CVM_PRIV_MANAGE, true },
	{ CVM__REQUEST__OP_LIFECYCLE, "lifecycle", CVM_PRIV_MANAGE, true },
	{ CVM__REQUEST__OP_PAGE, "page", CVM_PRIV_MANAGE, true },
	{ CVM__REQUEST__OP_GUEST_WRITE, "guest-write", CVM_PRIV_MANAGE, true },
	{ CVM__REQUEST__OP_READ, "read", CVM_PRIV_MEMORY, true },
	{ CVM__REQUEST__OP_SNAPSHOT, "snapshot", CVM_PRIV_READ, true },
	{ CVM__REQUEST__OP_WATCH, "watch", CVM_PRIV_READ, false },
	{ CVM__REQUEST__OP_ATTEST, "attest", CVM_PRIV_READ, false },
};

static void test_surface(void **state)
{
	const struct cvm_operation *op;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(surface); i++) {
		op = cvm_operation(surface[i].op);
		assert_non_null(op);
		assert_string_equal(op->name, surface[i].name);
		assert_int_equal(op->priv, surface[i].priv);
		assert_int_equal(op->vmm, surface[i].vmm);
		/* Whatever cvmd forwards as it came is served by the VMM. */
		if (cvmd_operation_handler(surface[i].op) == cvmd_rpc_vm_request)
			assert_true(op->vmm);
	}
}

/* Each privilege has its polkit action, and the policy ships each. */
static void test_polkit_actions(void **state)
{
	static char policy[16384];
	const struct cvm_operation *op;
	char want[128];
	size_t n;
	FILE *f;
	int i;

	(void)state;
	f = fopen("systemd/org.cvm.policy", "r");
	assert_non_null(f);
	n = fread(policy, 1, sizeof(policy) - 1, f);
	fclose(f);
	policy[n] = '\0';
	for (i = 0; i < 64; i++) {
		op = cvm_operation(i);
		if (!op)
			continue;
		switch (op->priv) {
		case CVM_PRIV_READ:
			assert_null(op->polkit_action);
			continue;
		case CVM_PRIV_MANAGE:
			assert_string_equal(op->polkit_action, "org.cvm.manage");
			break;
		case CVM_PRIV_MEMORY:
			assert_string_equal(op->polkit_action,
					    "org.cvm.access-memory");
			break;
		}
		snprintf(want, sizeof(want), "<action id=\"%s\">",
			 op->polkit_action);
		assert_non_null(strstr(policy, want));
	}
}

static void test_request_body(void **state)
{
	Cvm__Request req = CVM__REQUEST__INIT;
	Cvm__LifecycleRequest lc = CVM__LIFECYCLE_REQUEST__INIT;

	(void)state;
	assert_null(cvm_request_body(&req));
	req.op_case = CVM__REQUEST__OP_LIFECYCLE;
	assert_null(cvm_request_body(&req));	/* a case without its body */
	req.lifecycle = &lc;
	assert_ptr_equal(cvm_request_body(&req), &lc.base);
}

/*
 * Each request a VMM serves names its VM, as cvmd reads it to pick the
 * VMM; the others that have a name give it too, and none reads past an
 * absent body.
 */
static void test_vm_name(void **state)
{
	const struct cvm_operation *op;
	Cvm__Request *req;
	int i;

	(void)state;
	for (i = 0; i < 64; i++) {
		op = cvm_operation(i);
		if (!op)
			continue;
		if (op->vmm)
			assert_non_null(protobuf_c_message_descriptor_get_field_by_name(
						op->body, "name"));
		if (!op->bus)
			continue;
		req = cvmd_bus_request_new((Cvm__Request__OpCase)i, "web1");
		assert_non_null(req);
		if (protobuf_c_message_descriptor_get_field_by_name(op->body, "name"))
			assert_string_equal(cvm_request_vm_name(req), "web1");
		else
			assert_null(cvm_request_vm_name(req));
		cvmd_bus_request_free(req);
	}
	{
		Cvm__Request req0 = CVM__REQUEST__INIT;

		assert_null(cvm_request_vm_name(&req0));
		req0.op_case = CVM__REQUEST__OP_SHOW;	/* without its body */
		assert_null(cvm_request_vm_name(&req0));
	}
}

/* The D-Bus edge builds each request it offers from the table. */
static void test_bus_requests(void **state)
{
	const struct cvm_operation *op;
	const ProtobufCFieldDescriptor *f;
	const ProtobufCMessage *body;
	Cvm__Request *req;
	int i;

	(void)state;
	for (i = 0; i < 64; i++) {
		op = cvm_operation(i);
		req = cvmd_bus_request_new((Cvm__Request__OpCase)i, "web1");
		if (!op || !op->bus) {
			assert_null(req);
			continue;
		}
		assert_non_null(req);
		assert_int_equal(req->op_case, i);
		body = cvm_request_body(req);
		assert_non_null(body);
		assert_ptr_equal(body->descriptor, op->body);
		f = protobuf_c_message_descriptor_get_field_by_name(op->body,
								    "name");
		if (f)
			assert_string_equal(*(char *const *)((const char *)body +
							     f->offset), "web1");
		/* A valid message: it packs. */
		assert_true(cvm__request__get_packed_size(req) > 0);
		cvmd_bus_request_free(req);
	}
	assert_null(cvmd_bus_request_new(CVM__REQUEST__OP_WATCH, "web1"));
	assert_null(cvmd_bus_request_new(CVM__REQUEST__OP_ATTEST, "web1"));
}

/* The one errno table: both columns, entry by entry. */
static const struct {
	int err;
	Cvm__Status status;
	const char *bus;
} errors[] = {
	{ EINVAL, CVM__STATUS__INVALID_ARGUMENT, "org.cvm.Error.InvalidArgs" },
	{ ENOENT, CVM__STATUS__NOT_FOUND, "org.cvm.Error.NotFound" },
	{ EEXIST, CVM__STATUS__EXISTS, "org.cvm.Error.Exists" },
	{ EBADFD, CVM__STATUS__WRONG_STATE, "org.cvm.Error.InvalidState" },
	{ EOPNOTSUPP, CVM__STATUS__NOT_STARTED, "org.cvm.Error.NotStarted" },
	{ ENOMEM, CVM__STATUS__NO_MEMORY, "org.cvm.Error.NoMemory" },
	{ EBUSY, CVM__STATUS__BUSY, "org.cvm.Error.Busy" },
	{ EBADMSG, CVM__STATUS__INTEGRITY, "org.cvm.Error.Integrity" },
	{ ERANGE, CVM__STATUS__OUT_OF_RANGE, "org.cvm.Error.OutOfRange" },
	{ EACCES, CVM__STATUS__ACCESS_DENIED, "org.cvm.Error.AccessDenied" },
	{ EPERM, CVM__STATUS__ACCESS_DENIED, "org.cvm.Error.AccessDenied" },
	{ ENOLINK, CVM__STATUS__UNAVAILABLE, "org.cvm.Error.Unavailable" },
	{ EUSERS, CVM__STATUS__LIMIT, "org.cvm.Error.Limit" },
	{ EMSGSIZE, CVM__STATUS__LIMIT, "org.cvm.Error.Limit" },
	{ EIO, CVM__STATUS__INTERNAL, "org.cvm.Error.Failed" },
	{ ENOSPC, CVM__STATUS__INTERNAL, "org.cvm.Error.Failed" },
};

static void test_errno_table(void **state)
{
	const char *by_status[32] = { 0 };
	Cvm__Status st;
	size_t i;
	int err;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(errors); i++) {
		assert_int_equal(cvm_status_from_errno(-errors[i].err),
				 errors[i].status);
		assert_string_equal(cvm_bus_error_from_errno(-errors[i].err),
				    errors[i].bus);
	}
	/* Every errno: one Status, one D-Bus name, the same pairing. */
	for (err = 1; err < 134; err++) {
		st = cvm_status_from_errno(-err);
		assert_true(st > CVM__STATUS__OK && (size_t)st < ARRAY_SIZE(by_status));
		if (!by_status[st])
			by_status[st] = cvm_bus_error_from_errno(-err);
		assert_string_equal(by_status[st], cvm_bus_error_from_errno(-err));
	}
	/* Every refusal Status is reachable from an errno. */
	for (st = CVM__STATUS__INVALID_ARGUMENT; st <= CVM__STATUS__INTERNAL; st++)
		assert_non_null(by_status[st]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_match_protocol),
		cmocka_unit_test(test_surface),
		cmocka_unit_test(test_polkit_actions),
		cmocka_unit_test(test_request_body),
		cmocka_unit_test(test_bus_requests),
		cmocka_unit_test(test_vm_name),
		cmocka_unit_test(test_errno_table),
	};

	return cmocka_run_group_tests_name("operations", tests, NULL, NULL);
}
