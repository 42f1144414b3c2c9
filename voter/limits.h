/* Limits of the voter's plugin hosts and double-sign guard. */
#ifndef SYNOD_VOTER_LIMITS_H
#define SYNOD_VOTER_LIMITS_H

#include "coordinator/app/limits.h"
#include "voter/plugin.h"

/* Inputs to a plugin. A request is a SUBMIT payload. */
#define VOTER_PLUGIN_REQUEST_BYTES_MAX SYNOD_APP_REQUEST_BYTES_MAX
#define VOTER_PLUGIN_POLICY_BYTES_MAX  (32u * 1024u)
#define VOTER_PLUGIN_CONFIG_BYTES_MAX  (16u * 1024u)
#define VOTER_PLUGIN_REASON_BYTES_MAX  SYNOD_PLUGIN_REASON_BYTES_MAX
/* A plugin's error or name strings inside a frame. */
#define VOTER_PLUGIN_TEXT_BYTES_MAX SYNOD_PLUGIN_ERRMSG_BYTES

/* One frame of the host protocol: the largest is EVAL (two blobs) or INIT. */
#define VOTER_PROTO_FRAME_BYTES_MAX                                                                \
	(VOTER_PLUGIN_REQUEST_BYTES_MAX + VOTER_PLUGIN_POLICY_BYTES_MAX + 64u)
/* What an exec plugin may print: {"reason":...,"verdict":"..."} and spaces. */
#define VOTER_EXEC_OUTPUT_BYTES_MAX (VOTER_PLUGIN_REASON_BYTES_MAX + 256u)
/* What an exec plugin reads: config, policy and request in one object. */
#define VOTER_EXEC_INPUT_BYTES_MAX                                                                 \
	(VOTER_PLUGIN_CONFIG_BYTES_MAX + VOTER_PLUGIN_POLICY_BYTES_MAX +                           \
	 VOTER_PLUGIN_REQUEST_BYTES_MAX + 64u)

/* Per-evaluation deadline and the child's resource limits. */
#define VOTER_PLUGIN_DEADLINE_MS_MAX  600000u
#define VOTER_PLUGIN_DEADLINE_MS_DEF  5000u
#define VOTER_PLUGIN_MEMORY_BYTES_DEF (512ull * 1024u * 1024u)
#define VOTER_PLUGIN_MEMORY_BYTES_MIN (16ull * 1024u * 1024u)
#define VOTER_PLUGIN_FILES_DEF        16u  /* RLIMIT_NOFILE */
#define VOTER_PLUGIN_FILE_BYTES_DEF   0ull /* RLIMIT_FSIZE: plugins write no files */
#define VOTER_PLUGIN_CPU_S_HOST       600u /* a long-lived host's lifetime CPU */
#define VOTER_PLUGIN_HOST_EVALS_DEF   10000u
#define VOTER_PLUGIN_ARGS_MAX         16u
#define VOTER_PLUGIN_ENV_MAX          32u
#define VOTER_PLUGIN_ERRMSG_BYTES     256u
#define VOTER_PLUGIN_KILL_WAIT_MS     2000u /* after SIGKILL, for the reap */

_Static_assert(VOTER_PLUGIN_CONFIG_BYTES_MAX + 64u <= VOTER_PROTO_FRAME_BYTES_MAX,
               "INIT fits a frame");
_Static_assert(VOTER_PLUGIN_REASON_BYTES_MAX + 64u <= VOTER_PROTO_FRAME_BYTES_MAX,
               "VERDICT fits a frame");

/* The double-sign guard: records kept (one per signed (request, epoch)).
 * The app retains at most 8192 requests, so a voter never has more open. */
#define VOTER_GUARD_RECORDS_MAX        8192u
#define VOTER_GUARD_ENVELOPE_BYTES_MAX SYNOD_APP_VOTE_BYTES_MAX

#endif
