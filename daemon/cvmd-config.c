// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cvmd-config.c - /etc/cvm/cvmd.conf (INI, section [cvmd], parsed with
 * inih) and command-line overrides, through one setter so both accept the
 * same keys and values. See docs/cvmd.md.
 */
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvmd.h"

static int set_str(char **dst, const char *value)
{
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int set_uint(uint64_t *dst, const char *value, int base,
		    uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(value, &end, base);
	if (errno || end == value || *end || *value == '-' || v > max)
		return -EINVAL;
	*dst = v;
	return 0;
}

/* Sizes take K/M/G (binary), as cvmctl's SIZE. */
static int set_size(uint64_t *dst, const char *value)
{
	char num[32], *end;
	unsigned long long v;
	size_t len = strlen(value);
	int shift = 0;

	if (!len || len >= sizeof(num))
		return -EINVAL;
	memcpy(num, value, len + 1);
	switch (num[len - 1]) {
	case 'K': shift = 10; break;
	case 'M': shift = 20; break;
	case 'G': shift = 30; break;
	}
	if (shift)
		num[len - 1] = '\0';
	errno = 0;
	v = strtoull(num, &end, 10);
	if (errno || end == num || *end || *num == '-' ||
	    v > (UINT64_MAX >> shift))
		return -EINVAL;
	*dst = v << shift;
	return 0;
}

/*
 * listen_tls: HOST, HOST:PORT, [V6], [V6]:PORT (port 16520 when absent).
 * Return 0, -EINVAL or -ENAMETOOLONG.
 */
int cvmd_config_parse_listen(const char *s, char *host, size_t host_size,
			     unsigned int *ret_port)
{
	const char *end, *port = NULL;
	unsigned long v;
	size_t n;
	char *e;

	if (*s == '[') {
		end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		s++;
		n = end - s;
		if (end[1])
			port = end + 2;
	} else {
		end = strchr(s, ':');
		n = end ? (size_t)(end - s) : strlen(s);
		if (end && strchr(end + 1, ':'))
			return -EINVAL; /* a bare IPv6 address: bracket it */
		if (end)
			port = end + 1;
	}
	if (!n)
		return -EINVAL;
	if (n >= host_size)
		return -ENAMETOOLONG;
	memcpy(host, s, n);
	host[n] = '\0';
	*ret_port = CVMD_TLS_DEFAULT_PORT;
	if (port) {
		errno = 0;
		v = strtoul(port, &e, 10);
		if (errno || e == port || *e || *port == '-' || !v || v > 65535)
			return -EINVAL;
		*ret_port = v;
	}
	return 0;
}

int cvmd_config_set(struct cvmd_config *cfg, const char *key,
		    const char *value)
{
	uint64_t v = 0;
	int ret;

	/* A refused value leaves the setting as it was. */
	if (!strcmp(key, "socket"))
		return set_str(&cfg->socket_path, value);
	if (!strcmp(key, "state_dir"))
		return set_str(&cfg->state_dir, value);
	if (!strcmp(key, "vmm")) {
		ret = set_str(&cfg->vmm_path, value);
		cfg->vmm_set = cfg->vmm_set || !ret;
		return ret;
	}
	if (!strcmp(key, "device"))
		return set_str(&cfg->device, value);
	if (!strcmp(key, "admin_group"))
		return set_str(&cfg->admin_group, value);
	if (!strcmp(key, "libvirt_uri"))
		return set_str(&cfg->libvirt_uri, value);
	if (!strcmp(key, "metrics_listen")) {
		/* unix:PATH or HOST:PORT (metrics.c resolves it); "": off */
		if (*value && (!strchr(value, ':') ||
			       value[strlen(value) - 1] == ':'))
			return -EINVAL;
		return set_str(&cfg->metrics_listen, value);
	}
	if (!strcmp(key, "attest_key"))
		return *value ? set_str(&cfg->attest_key, value) : -EINVAL;
	if (!strcmp(key, "attest_cert"))
		return *value ? set_str(&cfg->attest_cert, value) : -EINVAL;
	if (!strcmp(key, "listen_tls")) {
		char host[256];
		unsigned int port;

		/* "" turns it off; anything else must parse. */
		if (*value &&
		    cvmd_config_parse_listen(value, host, sizeof(host), &port))
			return -EINVAL;
		return set_str(&cfg->listen_tls, value);
	}
	if (!strcmp(key, "tls_ca"))
		return set_str(&cfg->tls_ca, value);
	if (!strcmp(key, "tls_cert"))
		return set_str(&cfg->tls_cert, value);
	if (!strcmp(key, "tls_key"))
		return set_str(&cfg->tls_key, value);
	if (!strcmp(key, "tls_crl"))
		return set_str(&cfg->tls_crl, value);
	if (!strcmp(key, "tls_allow_manage"))
		return set_str(&cfg->tls_allow_manage, value);
	if (!strcmp(key, "tls_allow_memory"))
		return set_str(&cfg->tls_allow_memory, value);
	if (!strcmp(key, "bus")) {
		if (strcmp(value, "system") && strcmp(value, "session") &&
		    strcmp(value, "none"))
			return -EINVAL;
		return set_str(&cfg->bus, value);
	}
	if (!strcmp(key, "backend")) {
		if (strcmp(value, "auto") && strcmp(value, "kmod") &&
		    strcmp(value, "sim"))
			return -EINVAL;
		return set_str(&cfg->backend, value);
	}
	if (!strcmp(key, "socket_mode")) {
		ret = set_uint(&v, value, 8, 0777);
		if (!ret)
			cfg->socket_mode = v;
		return ret;
	}
	if (!strcmp(key, "max_vms")) {
		ret = set_uint(&v, value, 10, 1000000);
		if (!ret && v)
			cfg->max_vms = v;
		return ret ? ret : (v ? 0 : -EINVAL);
	}
	if (!strcmp(key, "max_requests")) {
		ret = set_uint(&v, value, 10, 65536);
		if (!ret && v)
			cfg->max_requests = v;
		return ret ? ret : (v ? 0 : -EINVAL);
	}
	if (!strcmp(key, "max_watches")) {
		ret = set_uint(&v, value, 10, 1024);
		if (!ret)
			cfg->max_watches = v;
		return ret;
	}
	if (!strcmp(key, "max_watches_total")) {
		ret = set_uint(&v, value, 10, 1000000);
		if (!ret)
			cfg->max_watches_total = v;
		return ret;
	}
	if (!strcmp(key, "max_bus_calls_per_sender")) {
		ret = set_uint(&v, value, 10, 65536);
		if (!ret && v)
			cfg->max_bus_calls_per_sender = v;
		return ret ? ret : (v ? 0 : -EINVAL);
	}
	if (!strcmp(key, "max_connections")) {
		ret = set_uint(&v, value, 10, 1000000);
		if (!ret && v)
			cfg->max_connections = v;
		return ret ? ret : (v ? 0 : -EINVAL);
	}
	if (!strcmp(key, "max_connections_per_uid")) {
		ret = set_uint(&v, value, 10, 1000000);
		if (!ret && v)
			cfg->max_connections_per_uid = v;
		return ret ? ret : (v ? 0 : -EINVAL);
	}
	if (!strcmp(key, "max_input")) {
		ret = set_size(&cfg->max_input, value);
		return ret ? ret : (cfg->max_input ? 0 : -EINVAL);
	}
	if (!strcmp(key, "max_input_per_uid")) {
		ret = set_size(&cfg->max_input_per_uid, value);
		return ret ? ret : (cfg->max_input_per_uid ? 0 : -EINVAL);
	}
	if (!strcmp(key, "max_output"))
		return set_size(&cfg->max_output, value);
	if (!strcmp(key, "default_memlock_limit"))
		return set_size(&cfg->default_memlock, value);
	if (!strcmp(key, "sim_pool")) {
		ret = set_size(&v, value);
		if (ret || !(v / 4096))
			return ret ? ret : -EINVAL;
		cfg->sim_pool_pages = v / 4096;
		return 0;
	}
	return -ENOENT;
}

int cvmd_config_defaults(struct cvmd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->socket_mode = 0666;
	cfg->max_vms = 4096;
	cfg->max_requests = 64;
	cfg->max_watches = 16;
	cfg->max_watches_total = 4096;
	cfg->max_connections = 1024;
	cfg->max_bus_calls_per_sender = 64;
	cfg->max_connections_per_uid = 64;
	cfg->max_input = 256 << 20;
	cfg->max_input_per_uid = 16 << 20;
	cfg->max_output = 16 << 20;
	cfg->sim_pool_pages = 16384;	/* 64 MiB */
	if (set_str(&cfg->socket_path, "/run/cvmd/cvmd.sock") ||
	    set_str(&cfg->state_dir, "/var/lib/cvm") ||
	    set_str(&cfg->backend, "auto") ||
	    set_str(&cfg->vmm_path, CVMD_DEFAULT_VMM) ||
	    set_str(&cfg->device, "/dev/cvm") ||
	    set_str(&cfg->admin_group, "cvm") || set_str(&cfg->bus, "system") ||
	    set_str(&cfg->libvirt_uri, "qemu:///system") ||
	    /* libvirt's PKI layout */
	    set_str(&cfg->tls_ca, "/etc/pki/CA/cacert.pem") ||
	    set_str(&cfg->tls_cert, "/etc/pki/cvm/servercert.pem") ||
	    set_str(&cfg->tls_key, "/etc/pki/cvm/private/serverkey.pem") ||
	    set_str(&cfg->tls_crl, "") || set_str(&cfg->tls_allow_manage, "") ||
	    set_str(&cfg->tls_allow_memory, ""))
		return -ENOMEM;
	return 0;
}

void cvmd_config_free(struct cvmd_config *cfg)
{
	free(cfg->socket_path);
	free(cfg->state_dir);
	free(cfg->backend);
	free(cfg->vmm_path);
	free(cfg->device);
	free(cfg->admin_group);
	free(cfg->bus);
	free(cfg->libvirt_uri);
	free(cfg->metrics_listen);
	free(cfg->attest_key);
	free(cfg->attest_cert);
	free(cfg->listen_tls);
	free(cfg->tls_ca);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->tls_crl);
	free(cfg->tls_allow_manage);
	free(cfg->tls_allow_memory);
	memset(cfg, 0, sizeof(*cfg));
}

struct load_ctx {
	struct cvmd_config *cfg;
	const char *path;
	int err;
};

static int on_entry(void *user, const char *section, const char *name,
		    const char *value)
{
	struct load_ctx *ctx = user;
	int ret;

	if (strcmp(section, "cvmd")) {
		fprintf(stderr, "cvmd: %s: unknown section [%s]\n", ctx->path,
			section);
		ctx->err = -EINVAL;
		return 0;
	}
	ret = cvmd_config_set(ctx->cfg, name, value);
	if (ret) {
		fprintf(stderr, "cvmd: %s: %s '%s' in [cvmd]%s%s\n", ctx->path,
			ret == -ENOENT ? "unknown key" : "bad value for", name,
			ret == -ENOENT ? "" : ": ", ret == -ENOENT ? "" : value);
		ctx->err = ret == -ENOENT ? -EINVAL : ret;
		return 0;
	}
	return 1;
}

/* Return: 0, -ENOENT when the file does not exist, -EINVAL (reported). */
int cvmd_config_load(struct cvmd_config *cfg, const char *path)
{
	struct load_ctx ctx = { .cfg = cfg, .path = path };
	int line = ini_parse(path, on_entry, &ctx);

	if (line == -1)
		return -ENOENT;
	if (ctx.err)
		return ctx.err;
	if (line) {
		fprintf(stderr, "cvmd: %s:%d: syntax error\n", path, line);
		return -EINVAL;
	}
	return 0;
}
