/* Structured logging (logfmt) and counters.
 *
 * A log line: ts=2026-11-21T10:01:25.123Z level=warn comp=pbft msg="..."
 * Bad input from any peer, voter, client, plugin or file gets a counter
 * (synod_counter_inc) and a log line (synod_log). Counters are process-wide,
 * registered on first use and listed by synod_counters_write (Prometheus text
 * format, for /metrics). */
#ifndef SYNOD_COMMON_LOG_H
#define SYNOD_COMMON_LOG_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

enum synod_log_level {
	SYNOD_LOG_DEBUG = 0,
	SYNOD_LOG_INFO = 1,
	SYNOD_LOG_WARN = 2,
	SYNOD_LOG_ERROR = 3,
	SYNOD_LOG_OFF = 4,
};

/* Lines below level are dropped. Default: INFO, or SYNOD_LOG_LEVEL from the
 * environment (debug, info, warn, error, off) when set. */
void synod_log_level_set(enum synod_log_level level);
enum synod_log_level synod_log_level_get(void);
/* Where lines go (borrowed; default stderr). */
void synod_log_sink_set(FILE *sink);

/* Writes one line. component is a short static name ("pbft", "json"). */
void synod_log(enum synod_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct synod_counter {
	const char *name; /* Prometheus metric name, e.g. synod_json_rejected_total */
	const char *help;
	_Atomic uint64_t value;
	_Atomic int registered;
	struct synod_counter *next;
};

#define SYNOD_COUNTER(var, metric, helptext)                                                       \
	static struct synod_counter var = {.name = (metric), .help = (helptext)}

void synod_counter_add(struct synod_counter *c, uint64_t n);
static inline void synod_counter_inc(struct synod_counter *c)
{
	synod_counter_add(c, 1);
}
uint64_t synod_counter_get(const struct synod_counter *c);
/* Writes every registered counter in Prometheus text format. */
void synod_counters_write(FILE *out);

#endif
