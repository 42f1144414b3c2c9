/* Plugin child processes (spawn.h). */
#define _GNU_SOURCE /* pipe2 */
#include "voter/spawn.h"

#include "common/log.h"
#include "voter/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Upper bound for the descriptor sweep when close_range is unavailable. */
#define SPAWN_FD_SWEEP_MAX 65536
/* Poll step while waiting for an exited child to become reapable. */
#define SPAWN_REAP_STEP_US 100

int64_t voter_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Moves fd to want, clearing close-on-exec; _exit on failure. */
static void spawn_child_fd(int fd, int want)
{
	int tmp = fcntl(fd, F_DUPFD, 3); /* never 0..2, so dup2 below always copies */
	if (tmp < 0 || dup2(tmp, want) < 0) {
		_exit(126);
	}
}

static void spawn_child_limit(int resource, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};
	if (setrlimit(resource, &rl) != 0) {
		_exit(126);
	}
}

/* After fork: async-signal-safe calls only, then exec. */
static void spawn_child(int in_fd, int out_fd, int err_fd, const char *path, char *const argv[],
                        char *const envp[], const struct voter_limits *lim)
{
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < 32; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP) {
			(void)sigaction(sig, &dfl, NULL);
		}
	}
	(void)setpgid(0, 0);
	spawn_child_fd(in_fd, 0);
	spawn_child_fd(out_fd, 1);
	spawn_child_fd(err_fd, 2);
	if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0) {
		for (int fd = 3; fd < SPAWN_FD_SWEEP_MAX; fd++) {
			(void)close(fd);
		}
	}
	if (lim->memory_bytes > 0) {
		spawn_child_limit(RLIMIT_AS, lim->memory_bytes, lim->memory_bytes);
	}
	spawn_child_limit(RLIMIT_CPU, lim->cpu_s, (rlim_t)lim->cpu_s + 1);
	spawn_child_limit(RLIMIT_NOFILE, lim->files, lim->files);
	spawn_child_limit(RLIMIT_FSIZE, lim->file_bytes, lim->file_bytes);
	spawn_child_limit(RLIMIT_CORE, 0, 0); /* no core file of a plugin */
	execve(path, argv, envp);
	_exit(127);
}

static void spawn_close(int *fd)
{
	if (*fd >= 0) {
		(void)close(*fd);
		*fd = -1;
	}
}

int voter_child_spawn(struct voter_child *c, const char *path, char *const argv[],
                      char *const envp[], const struct voter_limits *lim, char *errmsg,
                      size_t errmsg_len)
{
	int req[2] = {-1, -1};
	int ans[2] = {-1, -1};
	int err_fd = lim->stderr_fd;
	int null_fd = -1;
	memset(c, 0, sizeof *c);
	c->to_fd = c->from_fd = -1;
	if (err_fd < 0) {
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		err_fd = null_fd;
	}
	if (err_fd < 0 || pipe2(req, O_CLOEXEC) != 0 || pipe2(ans, O_CLOEXEC) != 0) {
		goto fail;
	}
	pid_t pid = fork();
	if (pid < 0) {
		goto fail;
	}
	if (pid == 0) {
		spawn_child(req[0], ans[1], err_fd, path, argv, envp, lim);
	}
	(void)setpgid(pid, pid); /* also here: no window where a kill misses it */
	spawn_close(&req[0]);
	spawn_close(&ans[1]);
	spawn_close(&null_fd);
	(void)fcntl(req[1], F_SETFL, O_NONBLOCK);
	(void)fcntl(ans[0], F_SETFL, O_NONBLOCK);
	c->pid = pid;
	c->to_fd = req[1];
	c->from_fd = ans[0];
	return 0;
fail:;
	int e = errno;
	spawn_close(&req[0]);
	spawn_close(&req[1]);
	spawn_close(&ans[0]);
	spawn_close(&ans[1]);
	spawn_close(&null_fd);
	return synod_errf(errmsg, errmsg_len, SYNOD_EIO, "starting %s: %s", path, strerror(e));
}

/* write() without SIGPIPE killing the voter: SIGPIPE is blocked for the call
 * and a SIGPIPE it raised is consumed, so the caller's disposition is kept. */
static ssize_t spawn_write(int fd, const uint8_t *p, size_t n)
{
	sigset_t pipe_set;
	sigset_t old;
	sigset_t pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	bool was_pending = sigismember(&pending, SIGPIPE) == 1;
	ssize_t w = write(fd, p, n);
	int e = errno;
	if (w < 0 && e == EPIPE && !was_pending) {
		struct timespec zero = {0, 0};
		(void)sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return w;
}

/* How many bytes the answer still needs: frame mode knows after the header. */
static int spawn_io_want(const struct voter_io *io, size_t *want)
{
	*want = io->in_cap;
	if (!io->frame) {
		return 0;
	}
	if (io->in_len < VOTER_PROTO_HEADER_BYTES) {
		*want = VOTER_PROTO_HEADER_BYTES;
		return 0;
	}
	size_t body = 0;
	int rc = voter_proto_header(io->in, &body);
	if (rc == 0 && body + VOTER_PROTO_HEADER_BYTES > io->in_cap) {
		return SYNOD_ELIMIT;
	}
	if (rc != 0) {
		return body == 0 ? SYNOD_EPROTO : SYNOD_ELIMIT;
	}
	*want = body + VOTER_PROTO_HEADER_BYTES;
	return 0;
}

/* Reads what is there; 1 when the answer is complete. */
static int spawn_io_read(struct voter_child *c, struct voter_io *io)
{
	size_t want = 0;
	int rc = spawn_io_want(io, &want);
	if (rc != 0) {
		return rc;
	}
	uint8_t spill;
	bool full = io->in_len == want;
	/* Not frame mode and full: one more byte tells EOF from oversize. */
	ssize_t r = full ? read(c->from_fd, &spill, 1)
	                 : read(c->from_fd, io->in + io->in_len, want - io->in_len);
	if (r < 0) {
		return errno == EAGAIN || errno == EINTR ? 0 : SYNOD_EIO;
	}
	if (r == 0) {
		return io->frame ? SYNOD_ETRUNC : 1;
	}
	if (full) {
		return SYNOD_ELIMIT;
	}
	io->in_len += (size_t)r;
	if (io->frame && io->in_len == want && want > VOTER_PROTO_HEADER_BYTES) {
		return 1;
	}
	return 0;
}

static int spawn_io_write(struct voter_child *c, struct voter_io *io, size_t *pos)
{
	ssize_t w = spawn_write(c->to_fd, io->out + *pos, io->out_len - *pos);
	if (w < 0) {
		if (errno == EAGAIN || errno == EINTR) {
			return 0;
		}
		return errno == EPIPE ? SYNOD_ETRUNC : SYNOD_EIO;
	}
	*pos += (size_t)w;
	if (*pos == io->out_len && !io->frame) {
		spawn_close(&c->to_fd); /* EOF: an exec plugin reads to the end */
	}
	return 0;
}

int voter_child_io(struct voter_child *c, struct voter_io *io, int64_t deadline_ms)
{
	size_t pos = 0;
	io->in_len = 0;
	for (;;) {
		struct pollfd p[2] = {{.fd = c->from_fd, .events = POLLIN}, {.fd = -1}};
		if (pos < io->out_len) {
			p[1] = (struct pollfd){.fd = c->to_fd, .events = POLLOUT};
		}
		int64_t left = deadline_ms - voter_now_ms();
		if (left <= 0) {
			return SYNOD_ESTATE;
		}
		int n = poll(p, 2, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n < 0 && errno != EINTR) {
			return SYNOD_EIO;
		}
		if (n <= 0) {
			continue;
		}
		if (p[1].revents != 0) {
			int rc = spawn_io_write(c, io, &pos);
			if (rc != 0) {
				return rc;
			}
		}
		if (p[0].revents != 0) {
			int rc = spawn_io_read(c, io);
			if (rc != 0) {
				return rc == 1 && pos == io->out_len ? 0
				       : rc == 1                     ? SYNOD_ETRUNC
				                                     : rc;
			}
		}
	}
}

int voter_child_pending(const struct voter_child *c)
{
	struct pollfd p = {.fd = c->from_fd, .events = POLLIN};
	if (c->from_fd < 0) {
		return -1;
	}
	if (poll(&p, 1, 0) <= 0) {
		return 0;
	}
	uint8_t b;
	ssize_t r = read(c->from_fd, &b, 1);
	return r > 0 ? 1 : r == 0 ? -1 : errno == EAGAIN ? 0 : -1;
}

int voter_child_wait(struct voter_child *c, int64_t deadline_ms, int *status)
{
	while (!c->reaped) {
		pid_t r = waitpid(c->pid, &c->status, WNOHANG);
		if (r == c->pid) {
			c->reaped = true;
			break;
		}
		if (r < 0 && errno != EINTR) {
			return SYNOD_EIO;
		}
		if (voter_now_ms() >= deadline_ms) {
			return SYNOD_ESTATE;
		}
		struct timespec step = {0, SPAWN_REAP_STEP_US * 1000};
		nanosleep(&step, NULL);
	}
	*status = c->status;
	return 0;
}

void voter_child_kill(struct voter_child *c, int *status)
{
	if (c->pid > 0) {
		/* The group goes too: a plugin's own children must not outlive it.
		 * The leader is at worst a zombie here, so the group id is valid. */
		(void)kill(-c->pid, SIGKILL);
		if (!c->reaped) {
			(void)kill(c->pid, SIGKILL);
			while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR) {
			}
			c->reaped = true;
		}
	}
	if (status != NULL) {
		*status = c->status;
	}
	spawn_close(&c->to_fd);
	spawn_close(&c->from_fd);
	c->pid = 0;
}
