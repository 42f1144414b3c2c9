#include "common/log.h"

#include "common/assert.h"
#include "common/limits.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static _Atomic int log_level = -1;
static FILE *_Atomic log_sink;
static struct synod_counter *_Atomic counters_head;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void synod_log_level_set(enum synod_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum synod_log_level synod_log_level_get(void)
{
	int level = atomic_load(&log_level);
	if (level >= 0) {
		return (enum synod_log_level)level;
	}
	level = SYNOD_LOG_INFO;
	const char *env = getenv("SYNOD_LOG_LEVEL");
	for (int i = 0; env != NULL && i <= SYNOD_LOG_OFF; i++) {
		if (strcmp(env, level_names[i]) == 0) {
			level = i;
		}
	}
	atomic_store(&log_level, level);
	return (enum synod_log_level)level;
}

void synod_log_sink_set(FILE *sink)
{
	atomic_store(&log_sink, sink);
}

/* Appends s to line[*pos..cap) with logfmt quoting; stops at the cap. */
static void log_append_quoted(char *line, size_t cap, size_t *pos, const char *s)
{
	for (; *s != '\0' && *pos + 3 < cap; s++) {
		char c = *s;
		if (c == '"' || c == '\\') {
			line[(*pos)++] = '\\';
			line[(*pos)++] = c;
		} else if (c == '\n') {
			line[(*pos)++] = '\\';
			line[(*pos)++] = 'n';
		} else if ((unsigned char)c < 0x20) {
			line[(*pos)++] = '?';
		} else {
			line[(*pos)++] = c;
		}
	}
}

void synod_log(enum synod_log_level level, const char *component, const char *fmt, ...)
{
	if (level < synod_log_level_get() || level >= SYNOD_LOG_OFF) {
		return;
	}
	char msg[SYNOD_LOG_LINE_BYTES_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char line[SYNOD_LOG_LINE_BYTES_MAX + 128];
	int n = snprintf(line, sizeof line,
	                 "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03dZ level=%s comp=%s msg=\"",
	                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	                 tm.tm_sec, (int)(tv.tv_usec / 1000), level_names[level], component);
	size_t pos = n > 0 ? (size_t)n : 0;
	if (pos >= sizeof line) {
		pos = sizeof line - 3;
	}
	log_append_quoted(line, sizeof line, &pos, msg);
	line[pos++] = '"';
	line[pos++] = '\n';
	FILE *sink = atomic_load(&log_sink);
	fwrite(line, 1, pos, sink != NULL ? sink : stderr);
	fflush(sink != NULL ? sink : stderr);
}

void synod_counter_add(struct synod_counter *c, uint64_t n)
{
	atomic_fetch_add(&c->value, n);
	int expected = 0;
	if (atomic_load(&c->registered) == 0 &&
	    atomic_compare_exchange_strong(&c->registered, &expected, 1)) {
		struct synod_counter *head = atomic_load(&counters_head);
		do {
			c->next = head;
		} while (!atomic_compare_exchange_weak(&counters_head, &head, c));
	}
}

uint64_t synod_counter_get(const struct synod_counter *c)
{
	return atomic_load(&((struct synod_counter *)c)->value);
}

void synod_counters_write(FILE *out)
{
	for (struct synod_counter *c = atomic_load(&counters_head); c != NULL; c = c->next) {
		fprintf(out, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", c->name, c->help,
		        c->name, c->name, (unsigned long long)atomic_load(&c->value));
	}
}

_Noreturn void synod_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	fprintf(stderr, "synod: assertion failed: %s (%s:%d, %s)\n", expr, file, line, func);
	fflush(stderr);
	abort();
}
