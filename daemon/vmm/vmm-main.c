// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * cvm-vmm - the per-VM process (DESIGN §6), started by cvmd:
 *
 *   cvm-vmm --name NAME --uuid UUID --memory BYTES --socket PATH
 *           [--memlock-limit BYTES] [--pin demand|upfront]
 *           [--backend kmod|sim] [--device PATH] [--sim-pool-pages N]
 *           [--fault-around PAGES]
 *
 * Allocates the guest memory (MAP_NORESERVE), applies the VM's own
 * RLIMIT_MEMLOCK (and drops CAP_IPC_LOCK so it binds), creates the backend
 * VM, listens on its private socket (0600), then prints "ready" on stdout
 * (or "error ERRNO MESSAGE") and serves cvmd, one connection at a time:
 * when cvmd restarts it connects again and the VM carries on.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <fcntl.h>

#include "cvm-frame.h"
#include "vmm.h"

static volatile sig_atomic_t vmm_stop;

static void on_signal(int sig)
{
	(void)sig;
	vmm_stop = 1;
}

static int parse_u64(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* The VM's own limit, binding even for root (as libvirt bounds QEMU). */
static int apply_memlock(uint64_t limit)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	struct rlimit rl = { .rlim_cur = limit, .rlim_max = limit };
	int i = CAP_TO_INDEX(CAP_IPC_LOCK);

	if (!limit)
		return 0;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		return -errno;
	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[i].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	data[i].permitted &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	data[i].inheritable &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

static int listen_on(const char *path, int *ret_fd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
	    chmod(path, 0600) || listen(fd, 4)) {
		int err = -errno;

		close(fd);
		return err;
	}
	*ret_fd = fd;
	return 0;
}

/* Serve one cvmd connection until it closes or a destroy arrives. */
static void serve(struct cvm_vmm *vmm, int fd)
{
	struct vmm_result *r;
	Cvm__Response resp;
	Cvm__Request *req;
	int ret;

	while (!vmm_stop && !vmm->quit) {
		ret = cvm_frame_recv_request(fd, &req, -1);
		if (ret)
			return;
		r = vmm_handle(vmm, req, &resp);
		cvm__request__free_unpacked(req, NULL);
		do
			ret = cvm_frame_send_response(fd, &resp, 10000);
		while (!ret && vmm_result_next(r));
		vmm_result_free(r);
		if (ret)
			return;
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: cvm-vmm --name NAME --uuid UUID --memory BYTES "
		   "--socket PATH [--memlock-limit BYTES] [--pin demand|upfront] "
		   "[--backend kmod|sim] [--device PATH] [--sim-pool-pages N] "
		   "[--fault-around PAGES]\n");
}

/*
 * Tell cvmd how the start went. Return: false when nobody heard it (the
 * cvmd that started us died): then nobody knows this VMM, and it exits
 * rather than run on unrecorded.
 */
static bool ready_line(int err, const char *what)
{
	if (err)
		printf("error %d %s: %s\n", -err, what, strerror(-err));
	else
		printf("ready\n");
	return fflush(stdout) == 0 && !ferror(stdout);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "uuid", required_argument, NULL, 'u' },
		{ "memory", required_argument, NULL, 'm' },
		{ "memlock-limit", required_argument, NULL, 'l' },
		{ "pin", required_argument, NULL, 'p' },
		{ "backend", required_argument, NULL, 'b' },
		{ "socket", required_argument, NULL, 's' },
		{ "device", required_argument, NULL, 'd' },
		{ "sim-pool-pages", required_argument, NULL, 'P' },
		{ "fault-around", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct cvm_backend_config cfg = {};
	struct cvm_vmm vmm = { .ops = &cvm_backend_sim };
	uint64_t fault_around;
	const char *socket_path = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	int c, ret, lfd = -1, fd, nullfd;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			vmm.name = optarg;
			break;
		case 'u':
			vmm.uuid = optarg;
			break;
		case 'm':
			if (parse_u64(optarg, &vmm.memory_bytes))
				goto bad;
			break;
		case 'l':
			if (parse_u64(optarg, &vmm.memlock_limit))
				goto bad;
			break;
		case 'p':
			if (strcmp(optarg, "demand") && strcmp(optarg, "upfront"))
				goto bad;
			vmm.upfront = !strcmp(optarg, "upfront");
			break;
		case 'b':
			if (!strcmp(optarg, "kmod"))
				vmm.ops = &cvm_backend_kmod;
			else if (!strcmp(optarg, "sim"))
				vmm.ops = &cvm_backend_sim;
			else
				goto bad;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'd':
			cfg.dev_path = optarg;
			break;
		case 'P':
			if (parse_u64(optarg, &cfg.sim_pool_pages))
				goto bad;
			break;
		case 'F':
			/* demand pins take the aligned run of PAGES around a
			 * first touch; the backend checks the value (EINVAL) */
			if (parse_u64(optarg, &fault_around) ||
			    fault_around > UINT32_MAX)
				goto bad;
			cfg.fault_around = fault_around;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (!vmm.name || !vmm.uuid || !socket_path || !vmm.memory_bytes ||
	    vmm.memory_bytes % 4096 || optind != argc)
		goto bad;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ret = apply_memlock(vmm.memlock_limit);
	if (ret) {
		ready_line(ret, "memlock limit");
		return 1;
	}
	vmm.mem = mmap(NULL, vmm.memory_bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vmm.mem == MAP_FAILED) {
		ready_line(-errno, "guest memory");
		return 1;
	}
	cfg.memory_bytes = vmm.memory_bytes;
	cfg.pin_limit_bytes = vmm.memlock_limit;
	cfg.upfront = vmm.upfront;
	cfg.mem = vmm.mem;
	ret = vmm.ops->create(&cfg, &vmm.backend);
	if (ret) {
		ready_line(ret, "backend VM");
		return 1;
	}
	ret = listen_on(socket_path, &lfd);
	if (ret) {
		ready_line(ret, "socket");
		vmm.backend = vmm.ops->destroy(vmm.backend);
		return 1;
	}
	if (!ready_line(0, NULL)) {
		unlink(socket_path);
		vmm.backend = vmm.ops->destroy(vmm.backend);
		return 1;
	}
	/* From here on cvmd may go and come back: hold no pipe of its. */
	nullfd = open("/dev/null", O_RDWR);
	if (nullfd >= 0) {
		dup2(nullfd, STDIN_FILENO);
		dup2(nullfd, STDOUT_FILENO);
		close(nullfd);
	}

	while (!vmm_stop && !vmm.quit) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		serve(&vmm, fd);
		close(fd);
	}
	close(lfd);
	unlink(socket_path);
	vmm.backend = vmm.ops->destroy(vmm.backend);
	munmap(vmm.mem, vmm.memory_bytes);
	return 0;

bad:
	usage(stderr);
	return 2;
}
