// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * vmm-process.c - a VM's cvm-vmm as a process: held by a pidfd, so a
 * signal can never reach another process that reused its pid, whether
 * this cvmd spawned the VMM or found it in the registry after a restart.
 *
 * A VMM this cvmd spawned is also its child (vm->proc): libuv reaps it
 * when it exits, as long as the process handle stays open until then.
 * A VMM adopted after a restart was reparented when the previous cvmd
 * exited; its new parent (the service manager) reaps it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cvmd.h"

static int pidfd_open(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}

static int pidfd_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) ? -errno : 0;
}

/* Does /proc/PID/cmdline hold "--socket\0SOCKET\0"? */
static bool cmdline_names_socket(pid_t pid, const char *socket)
{
	char path[64], buf[4096], want[512];
	size_t want_len;
	ssize_t n;
	int fd;

	want_len = (size_t)snprintf(want, sizeof(want), "--socket%c%s", 0, socket) + 1;
	if (want_len > sizeof(want))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 && memmem(buf, (size_t)n, want, want_len) != NULL;
}

/**
 * cvmd_vmm_pidfd() - a pidfd for the VMM recorded as @pid serving @socket
 * @pid: the recorded pid
 * @socket: the VMM's socket path, which its command line names
 *
 * The pidfd is opened first, then the command line read, then the pidfd
 * checked to still refer to a live process: had the pid been reused in
 * between, the process read would not be the one held.
 *
 * Return: the pidfd; -ESRCH when no such VMM runs (gone, or the pid now
 * belongs to another process); -errno.
 */
int cvmd_vmm_pidfd(pid_t pid, const char *socket)
{
	int fd, ret;

	if (pid <= 0)
		return -ESRCH;
	fd = pidfd_open(pid);
	if (fd < 0)
		return fd;
	ret = cmdline_names_socket(pid, socket) ? pidfd_signal(fd, 0) : -ESRCH;
	if (ret) {
		close(fd);
		return ret == -EPERM ? -ESRCH : ret;
	}
	return fd;
}

/* A pidfd for the process whose command line names @socket, or -ESRCH. */
static int vmm_find(const char *socket)
{
	struct dirent *e;
	DIR *proc;
	char *end;
	long pid;
	int fd = -ESRCH;

	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while (fd < 0 && (e = readdir(proc))) {
		pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid == getpid())
			continue;
		fd = cvmd_vmm_pidfd((pid_t)pid, socket);
	}
	closedir(proc);
	return fd;
}

/**
 * cvmd_vmm_kill() - end the VM's VMM, if it still runs
 * @vm: the VM
 *
 * cvmd gives up on a VMM (destroyed, failed, lied, unreachable): it must
 * not run on holding the VM's pinned memory. Its child is reaped by libuv
 * (the process handle stays open until the exit callback).
 */
void cvmd_vmm_kill(struct cvmd_vm *vm)
{
	if (vm->proc_live) {
		uv_process_kill(&vm->proc, SIGKILL);
		return;
	}
	/* Its pid unknown (cvmd died before recording it): by its socket. */
	if (vm->pidfd < 0)
		vm->pidfd = vmm_find(vm->rec.vmm_socket);
	if (vm->pidfd >= 0)
		pidfd_signal(vm->pidfd, SIGKILL);
}

/* Forget the VMM's pidfd (the VM record is going away). */
void cvmd_vmm_release(struct cvmd_vm *vm)
{
	if (vm->pidfd >= 0)
		close(vm->pidfd);
	vm->pidfd = -1;
}
