// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * hook-entry.c - cvm-libvirt-hook, libvirt's qemu hook for cvm, installed
 * as /etc/libvirt/hooks/qemu.d/cvm (libvirtd reads that directory when it
 * starts: reload it with SIGHUP after installing). See docs/libvirt.md.
 *
 * libvirt runs it as `cvm DOMAIN OP SUBOP EXTRA` with the domain XML on
 * stdin, for every domain, and waits. This entry links libc alone, so it
 * starts as fast as /bin/true: it reads all of stdin and, when the
 * document is surely a well-formed domain that did not opt in
 * (hook-scan.c), exits 0 at once. Otherwise it hands the same bytes on
 * (a memfd as stdin) and execs `cvmctl hook -- qemu DOMAIN OP SUBOP
 * EXTRA`, the full hook: exec, so no process stays behind holding
 * libvirt's stdout and stderr; "--" so that a domain name starting with
 * '-' stays an argument. cvmctl talks to cvmd's default socket
 * ($CVM_CONNECT if set); $CVMCTL names another cvmctl (tests), else
 * cvmctl is looked for in $PATH, then /usr/bin.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hook-scan.h"
#include "read-all.h"

/* What cvmctl reads at most (CVM_HOOK_XML_MAX + 1: "too large"). */
#define ENTRY_READ_MAX ((16U << 20) + 1)

/*
 * Make stdin a memfd holding @buf, for cvmctl to read from the start.
 * When that fails, stdin becomes /dev/null: cvmctl then treats the
 * document as unreadable, which refuses a start and still cleans up.
 */
static void restdin(const char *buf, size_t len)
{
	int fd = memfd_create("cvm-hook-xml", MFD_CLOEXEC);
	size_t off = 0;
	ssize_t n;

	while (fd >= 0 && off < len) {
		n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			fd = -1;
			break;
		}
		off += n;
	}
	if (fd >= 0 && lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* dup2() leaves the new descriptor without close-on-exec. */
	if (fd >= 0 && fd != STDIN_FILENO) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	const char *cvmctl = getenv("CVMCTL");
	char **args;
	size_t len = 0;
	char *buf = NULL;
	int i, err;

	/* A read error: cvmctl reads what is left and reports it. */
	if (!cvm_read_all(STDIN_FILENO, ENTRY_READ_MAX, &buf, &len)) {
		if (cvm_hook_scan_plain(buf, len))
			return 0;
		restdin(buf, len);
		free(buf);
	}

	args = calloc(argc + 4, sizeof(*args));
	if (!args) {
		fputs("cvm: out of memory\n", stderr);
		return 1;
	}
	args[0] = "cvmctl";
	args[1] = "hook";
	args[2] = "--";
	args[3] = "qemu";
	for (i = 1; i < argc; i++)
		args[i + 3] = argv[i];
	if (cvmctl && *cvmctl) {
		execv(cvmctl, args);
	} else {
		execvp("cvmctl", args);
		execv("/usr/bin/cvmctl", args);
	}
	err = errno;
	fprintf(stderr, "cvm: cannot run %s: %s\n",
		cvmctl && *cvmctl ? cvmctl : "cvmctl", strerror(err));
	return 1;
}
