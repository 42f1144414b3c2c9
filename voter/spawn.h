/* Child processes for plugins: fork/exec with resource limits, I/O over a
 * pipe pair against a deadline, and killing the whole process group.
 *
 * The child gets the request pipe as stdin, the answer pipe as stdout, stderr
 * as given (default /dev/null), nothing else: every other descriptor is
 * closed before exec (the voter's key file, HSM session sockets and network
 * sockets included; the parent also opens them close-on-exec). exec replaces
 * the forked copy of the voter's memory, so no key bytes survive into the
 * plugin; between fork and exec the child makes only async-signal-safe
 * calls. The environment is exactly the envp given (empty by default). */
#ifndef SYNOD_VOTER_SPAWN_H
#define SYNOD_VOTER_SPAWN_H

#include "common/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct voter_limits {
	uint64_t memory_bytes; /* RLIMIT_AS; 0: not set (sanitizer builds) */
	uint32_t cpu_s;        /* RLIMIT_CPU soft; the hard limit is one second more */
	uint32_t files;        /* RLIMIT_NOFILE */
	uint64_t file_bytes;   /* RLIMIT_FSIZE */
	int stderr_fd;         /* the child's stderr; -1: /dev/null */
};

struct voter_child {
	pid_t pid;   /* 0: none */
	int to_fd;   /* our end of the child's stdin, -1 when closed */
	int from_fd; /* our end of the child's stdout, -1 when closed */
	bool reaped; /* waited for; status holds its wait status */
	int status;
};

/* Starts path (borrowed) with argv and envp (borrowed, NULL-terminated) in its
 * own process group under lim. Our ends are non-blocking and close-on-exec.
 * SYNOD_EIO (errmsg says which call) when a pipe or fork fails. A failed exec
 * shows as exit status 127 (126: a limit could not be set). */
SYNOD_WUR int voter_child_spawn(struct voter_child *c, const char *path, char *const argv[],
                                char *const envp[], const struct voter_limits *lim, char *errmsg,
                                size_t errmsg_len);

/* One exchange: write out[0..out_len) to the child, then (or meanwhile) read
 * its answer into in (in_cap bytes). In frame mode the answer is one protocol
 * frame (voter/proto.h) and the pipes stay open; otherwise the child's stdin
 * is closed after the write and the answer is everything up to EOF. */
struct voter_io {
	const uint8_t *out;
	size_t out_len;
	uint8_t *in;
	size_t in_cap;
	size_t in_len; /* result */
	bool frame;
};

/* 0 when the answer is complete. SYNOD_ETRUNC: the child closed its stdout
 * (or its stdin) first; SYNOD_ESTATE: the deadline (CLOCK_MONOTONIC ms)
 * passed; SYNOD_ELIMIT: more than in_cap bytes, or a frame header over the
 * limit; SYNOD_EPROTO: a frame header of length 0; SYNOD_EIO: poll or read
 * failed. */
SYNOD_WUR int voter_child_io(struct voter_child *c, struct voter_io *io, int64_t deadline_ms);

/* Before a request in frame mode: 0 when the child's stdout is quiet, 1 when
 * it holds bytes nobody asked for, -1 when it is closed (the child died). */
int voter_child_pending(const struct voter_child *c);

/* Waits for the child to exit until deadline_ms; 0 and *status (waitpid
 * form) on exit, SYNOD_ESTATE at the deadline (the child still runs). */
SYNOD_WUR int voter_child_wait(struct voter_child *c, int64_t deadline_ms, int *status);

/* SIGKILLs the child's process group, reaps the child (unless already
 * reaped), closes our ends. *status (may be NULL) gets the wait status. */
void voter_child_kill(struct voter_child *c, int *status);

/* CLOCK_MONOTONIC in ms. */
int64_t voter_now_ms(void);

#endif
