// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * registry.c - the VM registry in SQLite. WAL journal with synchronous
 * FULL: a transition is on disk before cvmd acknowledges it. The schema
 * carries its version in PRAGMA user_version; a newer file is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "registry.h"

struct cvm_registry {
	sqlite3 *db;
	sqlite3_stmt *insert, *update, *delete, *select;
};

static const char schema_v1[] =
	"CREATE TABLE IF NOT EXISTS vms ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" uuid TEXT UNIQUE NOT NULL,"
	" state INTEGER NOT NULL,"
	" memory_bytes INTEGER NOT NULL,"
	" memlock_limit_bytes INTEGER NOT NULL,"
	" pin INTEGER NOT NULL,"
	" vmm_pid INTEGER NOT NULL,"
	" vmm_socket TEXT NOT NULL,"
	" failure TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL DEFAULT (strftime('%s','now')));";

/* SQLite's result codes to -errno, once, here. */
static int sql_err(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	}
	return -EIO;
}

static int exec(sqlite3 *db, const char *sql)
{
	return sql_err(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static int schema_version(sqlite3 *db, int *ret)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return sql_err(rc);
	rc = sqlite3_step(st);
	*ret = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : sql_err(rc);
}

/* Schema 2: which VMs a libvirt domain owns (reconciled with libvirt). */
static const char schema_v2[] =
	"ALTER TABLE vms ADD COLUMN owner TEXT NOT NULL DEFAULT ''";

/* Bring an older file up to date, one version at a time, atomically. */
static int migrate(sqlite3 *db)
{
	char sql[64];
	int version, ret;

	ret = schema_version(db, &version);
	if (ret)
		return ret;
	if (version > CVM_REGISTRY_SCHEMA)
		return -EPROTO;	/* written by a newer cvmd: don't touch */
	if (version == CVM_REGISTRY_SCHEMA)
		return 0;
	ret = exec(db, "BEGIN IMMEDIATE");
	if (ret)
		return ret;
	if (version < 1)
		ret = exec(db, schema_v1);
	if (!ret && version < 2)
		ret = exec(db, schema_v2);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 CVM_REGISTRY_SCHEMA);
	if (!ret)
		ret = exec(db, sql);
	ret = ret ? (exec(db, "ROLLBACK"), ret) : exec(db, "COMMIT");
	return ret;
}

struct cvm_registry *cvm_registry_close(struct cvm_registry *reg)
{
	if (!reg)
		return NULL;
	sqlite3_finalize(reg->insert);
	sqlite3_finalize(reg->update);
	sqlite3_finalize(reg->delete);
	sqlite3_finalize(reg->select);
	sqlite3_close(reg->db);
	free(reg);
	return NULL;
}

int cvm_registry_open(const char *path, struct cvm_registry **ret)
{
	struct cvm_registry *reg = calloc(1, sizeof(*reg));
	int rc, r;

	if (!reg)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &reg->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_FULLMUTEX, NULL);
	r = sql_err(rc);
	if (!r)
		r = exec(reg->db, "PRAGMA journal_mode=WAL");
	if (!r)
		r = exec(reg->db, "PRAGMA synchronous=FULL");
	if (!r)
		sqlite3_busy_timeout(reg->db, 2000);
	if (!r)
		r = migrate(reg->db);
	if (!r)
		r = sql_err(sqlite3_prepare_v2(reg->db,
			"INSERT INTO vms (name, uuid, state, memory_bytes,"
			" memlock_limit_bytes, pin, vmm_pid, vmm_socket, failure,"
			" owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			-1, &reg->insert, NULL));
	if (!r)
		r = sql_err(sqlite3_prepare_v2(reg->db,
			"UPDATE vms SET uuid = ?2, state = ?3, memory_bytes = ?4,"
			" memlock_limit_bytes = ?5, pin = ?6, vmm_pid = ?7,"
			" vmm_socket = ?8, failure = ?9, owner = ?10 WHERE name = ?1",
			-1, &reg->update, NULL));
	if (!r)
		r = sql_err(sqlite3_prepare_v2(reg->db,
			"DELETE FROM vms WHERE name = ?1", -1, &reg->delete,
			NULL));
	if (!r)
		r = sql_err(sqlite3_prepare_v2(reg->db,
			"SELECT name, uuid, state, memory_bytes,"
			" memlock_limit_bytes, pin, vmm_pid, vmm_socket, failure,"
			" owner FROM vms ORDER BY created, rowid", -1, &reg->select,
			NULL));
	if (r) {
		cvm_registry_close(reg);
		return r;
	}
	*ret = reg;
	return 0;
}

void cvm_registry_set_busy_timeout(struct cvm_registry *reg, int ms)
{
	sqlite3_busy_timeout(reg->db, ms);
}

static int bind_record(sqlite3_stmt *st, const struct cvm_record *rec)
{
	int rc = SQLITE_OK;

	rc |= sqlite3_bind_text(st, 1, rec->name, -1, SQLITE_STATIC);
	rc |= sqlite3_bind_text(st, 2, rec->uuid, -1, SQLITE_STATIC);
	rc |= sqlite3_bind_int(st, 3, rec->state);
	rc |= sqlite3_bind_int64(st, 4, (sqlite3_int64)rec->memory_bytes);
	rc |= sqlite3_bind_int64(st, 5,
				 (sqlite3_int64)rec->memlock_limit_bytes);
	rc |= sqlite3_bind_int(st, 6, rec->pin);
	rc |= sqlite3_bind_int(st, 7, rec->vmm_pid);
	rc |= sqlite3_bind_text(st, 8, rec->vmm_socket, -1, SQLITE_STATIC);
	rc |= sqlite3_bind_text(st, 9, rec->failure, -1, SQLITE_STATIC);
	rc |= sqlite3_bind_text(st, 10, rec->owner, -1, SQLITE_STATIC);
	return sql_err(rc);
}

/* Run a one-row write; with autocommit, done means durable. */
static int run(sqlite3_stmt *st, int expect_changes)
{
	int rc = sqlite3_step(st);
	int changes = sqlite3_changes(sqlite3_db_handle(st));

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sql_err(rc) ? sql_err(rc) : -EIO;
	return expect_changes && !changes ? -ENOENT : 0;
}

int cvm_registry_insert(struct cvm_registry *reg, const struct cvm_record *rec)
{
	int ret = bind_record(reg->insert, rec);

	return ret ? ret : run(reg->insert, 1);
}

int cvm_registry_update(struct cvm_registry *reg, const struct cvm_record *rec)
{
	int ret = bind_record(reg->update, rec);

	return ret ? ret : run(reg->update, 1);
}

int cvm_registry_delete(struct cvm_registry *reg, const char *name)
{
	int ret = sql_err(sqlite3_bind_text(reg->delete, 1, name, -1,
					    SQLITE_STATIC));

	return ret ? ret : run(reg->delete, 1);
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", s ? (const char *)s : "");
}

int cvm_registry_foreach(struct cvm_registry *reg,
			 int (*fn)(const struct cvm_record *rec, void *data),
			 void *data)
{
	struct cvm_record rec;
	int rc, ret = 0;

	while ((rc = sqlite3_step(reg->select)) == SQLITE_ROW) {
		memset(&rec, 0, sizeof(rec));
		copy_text(rec.name, sizeof(rec.name), reg->select, 0);
		copy_text(rec.uuid, sizeof(rec.uuid), reg->select, 1);
		rec.state = sqlite3_column_int(reg->select, 2);
		rec.memory_bytes = sqlite3_column_int64(reg->select, 3);
		rec.memlock_limit_bytes = sqlite3_column_int64(reg->select, 4);
		rec.pin = sqlite3_column_int(reg->select, 5);
		rec.vmm_pid = sqlite3_column_int(reg->select, 6);
		copy_text(rec.vmm_socket, sizeof(rec.vmm_socket), reg->select, 7);
		copy_text(rec.failure, sizeof(rec.failure), reg->select, 8);
		copy_text(rec.owner, sizeof(rec.owner), reg->select, 9);
		ret = fn(&rec, data);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = sql_err(rc);
	sqlite3_reset(reg->select);
	return ret;
}
