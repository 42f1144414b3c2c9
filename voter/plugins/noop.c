/* noop: approves everything with an empty reason. For measuring what the
 * plugin host itself costs (tests/bench/bench_plugin.c). */
#include "voter/plugin.h"

#include <string.h>

static int noop_init(void **state, const char *config, size_t config_len, char *errmsg,
                     size_t errmsg_len)
{
	*state = NULL;
	return 0;
}

static int noop_evaluate(void *state, const char *request, size_t request_len, const char *policy,
                         size_t policy_len, int *verdict, char *reason, size_t reason_cap,
                         size_t *reason_len)
{
	*verdict = SYNOD_PLUGIN_APPROVE;
	memcpy(reason, "{}", 3);
	*reason_len = 2;
	return 0;
}

static const struct synod_plugin noop_plugin = {
    .abi_version = SYNOD_PLUGIN_ABI_VERSION,
    .name = "noop",
    .version = "1.0.0",
    .init = noop_init,
    .evaluate = noop_evaluate,
    .close = NULL,
};

const struct synod_plugin *synod_plugin_entry_v1(void);
const struct synod_plugin *synod_plugin_entry_v1(void)
{
	return &noop_plugin;
}
