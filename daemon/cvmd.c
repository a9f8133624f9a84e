// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cvmd - the cvm control-plane daemon (DESIGN §6):
 *
 *   cvmd [--backend auto|kmod|sim] [--socket PATH] [--state-dir DIR]
 *        [--bus system|session|none] [--config FILE] [--vmm PATH]
 *        [--set KEY=VALUE]...
 *
 * Command-line flags override the configuration file (default
 * /etc/cvm/cvmd.conf; a missing default file is fine, a missing explicit
 * one is an error). Without --vmm or a vmm key, the VMM is looked up
 * relative to cvmd's own executable (find_vmm()). Exit status: 0 after
 * SIGTERM/SIGINT, 1 on a start-up failure, 2 on a usage or configuration
 * error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "bus.h"
#include "cvmd.h"
#include "libvirt.h"
#include "metrics.h"
#include "tls.h"

#define CVMD_DEFAULT_CONFIG "/etc/cvm/cvmd.conf"

static void on_watchdog(uv_timer_t *h)
{
	(void)h;
	sd_notify(0, "WATCHDOG=1");
}

/* Under systemd: READY once serving, and the watchdog's keep-alive. */
static void notify_ready(struct cvmd *d)
{
	uint64_t usec = 0;

	sd_notify(0, "READY=1");
	d->ready = true;
	cvmd_notify_status(d);
	if (sd_watchdog_enabled(0, &usec) > 0 && usec) {
		uv_timer_init(d->loop, &d->watchdog);
		uv_timer_start(&d->watchdog, on_watchdog, usec / 2000,
			       usec / 2000);
		d->watchdog_on = true;
	}
}

static void on_stop_signal(uv_signal_t *h, int sig)
{
	struct cvmd *d = h->data;

	cvmd_log(LOG_INFO, "signal %d: stopping (VMMs keep running)", sig);
	sd_notify(0, "STOPPING=1");
	if (d->watchdog_on)
		uv_close((uv_handle_t *)&d->watchdog, NULL);
	d->stopping = true;
	uv_signal_stop(&d->sigterm);
	uv_signal_stop(&d->sigint);
	cvmd_server_stop(d);
	cvmd_metrics_stop(d);
	cvmd_tls_stop(d);
	uv_close((uv_handle_t *)&d->sighup, NULL);
	cvmd_bus_stop(d);
	cvmd_libvirt_stop(d);
	cvmd_vm_records_stop(d);
	cvmd_vm_shutdown_all(d);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
}

/* SIGHUP (systemctl reload): the TLS credentials again. */
static void on_reload_signal(uv_signal_t *h, int sig)
{
	struct cvmd *d = h->data;

	(void)sig;
	sd_notify(0, "RELOADING=1");
	cvmd_tls_reload(d);
	sd_notify(0, "READY=1");
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096], *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

static const char *resolve_backend(const struct cvmd_config *cfg)
{
	if (!strcmp(cfg->backend, "auto"))
		return access(cfg->device, F_OK) ? "sim" : "kmod";
	return !strcmp(cfg->backend, "kmod") ? "kmod" : "sim";
}

static bool is_executable(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISREG(st.st_mode) && !access(path, X_OK);
}

/*
 * The VMM when neither --vmm nor the vmm key named one: the cvm-vmm beside
 * cvmd's own executable (a build tree), then its ../libexec/cvm/cvm-vmm
 * (an installed tree: SBINDIR/cvmd and LIBEXECDIR/cvm/cvm-vmm under one
 * prefix), then the compiled-in default. Return 0 or -ENOMEM.
 */
static int find_vmm(struct cvmd_config *cfg)
{
	char exe[4096], path[4096 + 32], *slash;
	ssize_t len;

	if (cfg->vmm_set)
		return 0;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0 || len == sizeof(exe) - 1)
		return 0;
	exe[len] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/cvm-vmm", exe);
	if (is_executable(path))
		return cvmd_config_set(cfg, "vmm", path);
	/* The directory's parent ("" when cvmd sits in /). */
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/libexec/cvm/cvm-vmm", exe);
	if (slash && is_executable(path))
		return cvmd_config_set(cfg, "vmm", path);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: cvmd [--backend auto|kmod|sim] [--socket PATH] "
		"[--state-dir DIR]\n"
		"            [--bus system|session|none] [--config FILE] "
		"[--vmm PATH] [--set KEY=VALUE]...\n");
}

static int parse_args(int argc, char **argv, struct cvmd_config *cfg)
{
	static const struct option opts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "bus", required_argument, NULL, 'B' },
		{ "config", required_argument, NULL, 'c' },
		{ "vmm", required_argument, NULL, 'v' },
		{ "set", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *config = NULL;
	char *overrides[64];
	int n = 0, c, i, ret;
	char *eq;

	/* The file first, whatever the order on the command line. */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case '?':
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	ret = cvmd_config_load(cfg, config ? config : CVMD_DEFAULT_CONFIG);
	if (ret == -ENOENT && !config)
		ret = 0;
	else if (ret == -ENOENT)
		fprintf(stderr, "cvmd: %s: no such file\n", config);
	if (ret)
		return -EINVAL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *key = NULL;

		switch (c) {
		case 'b': key = "backend"; break;
		case 's': key = "socket"; break;
		case 'd': key = "state_dir"; break;
		case 'v': key = "vmm"; break;
		case 'B': key = "bus"; break;
		case 'S':
			if (n < 64)
				overrides[n++] = optarg;
			continue;
		default:
			continue;
		}
		if (cvmd_config_set(cfg, key, optarg)) {
			fprintf(stderr, "cvmd: bad value for --%s: %s\n",
				opts[c == 'b' ? 0 : c == 's' ? 1 : c == 'd' ? 2 :
				     c == 'B' ? 3 : 5].name,
				optarg);
			return -EINVAL;
		}
	}
	for (i = 0; i < n; i++) {
		eq = strchr(overrides[i], '=');
		if (!eq) {
			fprintf(stderr, "cvmd: --set wants KEY=VALUE\n");
			return -EINVAL;
		}
		*eq = '\0';
		ret = cvmd_config_set(cfg, overrides[i], eq + 1);
		if (ret) {
			fprintf(stderr, "cvmd: --set %s: %s\n", overrides[i],
				ret == -ENOENT ? "unknown key" : "bad value");
			return -EINVAL;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct cvmd d = {};
	char path[4096];
	int ret;

	signal(SIGPIPE, SIG_IGN);
	if (cvmd_config_defaults(&d.cfg))
		return 1;
	if (parse_args(argc, argv, &d.cfg)) {
		cvmd_config_free(&d.cfg);
		return 2;
	}
	if (find_vmm(&d.cfg)) {
		cvmd_config_free(&d.cfg);
		return 1;
	}
	cvmd_init(&d, uv_default_loop());
	d.backend = resolve_backend(&d.cfg);

	/* The socket's directory (/run/cvmd without systemd's help). */
	snprintf(path, sizeof(path), "%s", d.cfg.socket_path);
	if (strrchr(path, '/') && strrchr(path, '/') != path) {
		*strrchr(path, '/') = '\0';
		ret = mkdir_p(path, 0755);
		if (ret) {
			cvmd_log(LOG_ERR, "cannot create %s: %s", path,
				 strerror(-ret));
			return 1;
		}
	}
	snprintf(path, sizeof(path), "%s/vmm", d.cfg.state_dir);
	ret = mkdir_p(path, 0700);
	if (ret) {
		cvmd_log(LOG_ERR, "cannot create %s: %s", path, strerror(-ret));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/registry.sqlite", d.cfg.state_dir);
	ret = cvm_registry_open(path, &d.reg);
	if (ret) {
		cvmd_log(LOG_ERR, "cannot open the registry %s: %s", path,
			 ret == -EPROTO ? "written by a newer cvmd" :
			 strerror(-ret));
		return 1;
	}
	ret = cvmd_vm_restore(&d);
	/* From now on the loop never waits for another process's lock. */
	cvm_registry_set_busy_timeout(d.reg, 0);
	/* Before the API socket: it takes its fd by name (metrics.c). */
	if (!ret)
		ret = cvmd_metrics_start(&d);
	if (!ret)
		ret = cvmd_server_start(&d);
	if (!ret)
		ret = cvmd_tls_start(&d);
	if (!ret) {
		/* Without the bus the socket API still serves: not fatal. */
		int r = cvmd_bus_start(&d, d.cfg.bus);

		if (r < 0)
			cvmd_log(LOG_WARNING, "no D-Bus API (%s bus): %s",
				 d.cfg.bus, strerror(-r));
		r = cvmd_libvirt_start(&d, d.cfg.libvirt_uri);
		if (r < 0)
			cvmd_log(LOG_WARNING, "no libvirt reconciliation: %s",
				 strerror(-r));
	}
	if (ret) {
		/* libuv's errors are -errno too */
		cvmd_log(LOG_ERR, "cannot start: %s", strerror(-ret));
		return 1;
	}
	uv_signal_init(d.loop, &d.sigterm);
	uv_signal_init(d.loop, &d.sigint);
	d.sigterm.data = d.sigint.data = &d;
	uv_signal_start(&d.sigterm, on_stop_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_stop_signal, SIGINT);
	uv_signal_init(d.loop, &d.sighup);
	d.sighup.data = &d;
	uv_signal_start(&d.sighup, on_reload_signal, SIGHUP);
	if (!is_executable(d.cfg.vmm_path))
		cvmd_log(LOG_WARNING,
			 "no VMM at %s: creating a VM will fail "
			 "(set --vmm or the vmm key)",
			 d.cfg.vmm_path);
	cvmd_log(LOG_INFO, "ready: backend %s, socket %s%s, VMM %s, %u VMs",
		 d.backend, d.cfg.socket_path,
		 d.socket_activated ? " (activated)" : "", d.cfg.vmm_path,
		 d.nr_vms);
	notify_ready(&d);

	uv_run(d.loop, UV_RUN_DEFAULT);

	uv_loop_close(d.loop);
	cvmd_tls_free(&d);
	cvmd_vm_records_free(&d);
	d.reg = cvm_registry_close(d.reg);
	cvmd_config_free(&d.cfg);
	return 0;
}
