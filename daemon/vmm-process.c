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
 *
 * Spawning it, its "ready" line on stdout and its exit status are here
 * too; what they mean for the VM is vm.c's business.
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

static void on_exit_status(uv_process_t *p, int64_t status, int sig)
{
	struct cvmd_vm *vm = p->data;
	char why[128];

	vm->proc_live = false;
	cvmd_vm_close_handle(vm, (uv_handle_t *)&vm->proc);
	if (vm->freeing || vm->destroying)
		return;
	if (sig)
		snprintf(why, sizeof(why), "VMM (pid %d) killed by signal %d",
			 vm->rec.vmm_pid, sig);
	else
		snprintf(why, sizeof(why), "VMM (pid %d) exited with status %d",
			 vm->rec.vmm_pid, (int)status);
	if (vm->creator && !vm->connected) {
		/* Before "ready": the ready line says why, if it came. */
		return;
	}
	if (vm->rec.state == CVM__VM_STATE__FAILED) {
		/* Already failed on EOF: give the precise reason. */
		snprintf(vm->rec.failure, sizeof(vm->rec.failure), "%s", why);
		cvmd_vm_record_save(vm);
		return;
	}
	cvmd_vm_lost(vm, why);
}

static void on_ready_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct cvmd_vm *vm = h->data;

	(void)suggested;
	*buf = uv_buf_init(vm->ready_line + vm->ready_len,
			   sizeof(vm->ready_line) - 1 - vm->ready_len);
}

static void on_ready_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct cvmd_vm *vm = s->data;
	char *nl, *msg;
	int err;

	(void)buf;
	if (n > 0)
		vm->ready_len += n;
	vm->ready_line[vm->ready_len] = '\0';
	nl = strchr(vm->ready_line, '\n');
	if (!nl && n >= 0 && vm->ready_len < sizeof(vm->ready_line) - 1)
		return;
	uv_read_stop(s);
	vm->ready_open = false;
	cvmd_vm_close_handle(vm, (uv_handle_t *)&vm->ready);
	if (nl)
		*nl = '\0';
	if (!strcmp(vm->ready_line, "ready")) {
		if (cvmd_vmm_connect(vm))
			cvmd_vm_create_failed(vm, -ENOMEM, "out of memory");
		return;
	}
	/* "error ERRNO WHAT: TEXT" from cvm-vmm, or nothing at all. */
	err = -EIO;
	msg = vm->ready_line;
	if (!strncmp(msg, "error ", 6)) {
		err = -atoi(msg + 6);
		msg = strchr(msg + 6, ' ');
		msg = msg ? msg + 1 : vm->ready_line;
	} else if (!*msg) {
		msg = "its VMM exited before it was ready";
	}
	cvmd_vm_create_failed(vm, err ? err : -EIO, msg);
}

int cvmd_vmm_spawn(struct cvmd_vm *vm)
{
	struct cvmd *d = vm->d;
	char mem[32], limit[32], pool[32];
	uv_process_options_t opt = {};
	uv_stdio_container_t stdio[3];
	char *args[32];
	int n = 0, ret;

	snprintf(mem, sizeof(mem), "%llu",
		 (unsigned long long)vm->rec.memory_bytes);
	snprintf(limit, sizeof(limit), "%llu",
		 (unsigned long long)vm->rec.memlock_limit_bytes);
	snprintf(pool, sizeof(pool), "%llu",
		 (unsigned long long)d->cfg.sim_pool_pages);
	args[n++] = d->cfg.vmm_path;
	args[n++] = "--name";
	args[n++] = vm->rec.name;
	args[n++] = "--uuid";
	args[n++] = vm->rec.uuid;
	args[n++] = "--memory";
	args[n++] = mem;
	args[n++] = "--memlock-limit";
	args[n++] = limit;
	args[n++] = "--pin";
	args[n++] = vm->rec.pin == CVM__PIN_MODE__UPFRONT ? "upfront" : "demand";
	args[n++] = "--backend";
	args[n++] = (char *)d->backend;
	args[n++] = "--device";
	args[n++] = d->cfg.device;
	args[n++] = "--sim-pool-pages";
	args[n++] = pool;
	args[n++] = "--socket";
	args[n++] = vm->rec.vmm_socket;
	args[n] = NULL;

	uv_pipe_init(d->loop, &vm->ready, 0);
	vm->ready.data = vm;
	vm->ready_open = true;
	vm->handles++;
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&vm->ready;
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = STDERR_FILENO;
	opt.file = d->cfg.vmm_path;
	opt.args = args;
	opt.stdio = stdio;
	opt.stdio_count = 3;
	opt.exit_cb = on_exit_status;
	/* Its own session: the VMM outlives a cvmd restart (KillMode=process). */
	opt.flags = UV_PROCESS_DETACHED;
	vm->proc.data = vm;
	ret = uv_spawn(d->loop, &vm->proc, &opt);
	/* Initialised even when it fails: the handle is closed either way. */
	vm->handles++;
	if (ret) {
		vm->ready_open = false;
		cvmd_vm_close_handle(vm, (uv_handle_t *)&vm->ready);
		cvmd_vm_close_handle(vm, (uv_handle_t *)&vm->proc);
		return ret;
	}
	vm->proc_live = true;
	vm->rec.vmm_pid = vm->proc.pid;
	uv_read_start((uv_stream_t *)&vm->ready, on_ready_alloc, on_ready_read);
	return 0;
}
