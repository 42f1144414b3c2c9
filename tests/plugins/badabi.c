/* A test plugin built for another ABI version: the host must refuse it. */
#include "voter/plugin.h"

static const struct synod_plugin bad_plugin = {
    .abi_version = SYNOD_PLUGIN_ABI_VERSION + 1,
    .name = "badabi",
    .version = "0",
};

const struct synod_plugin *synod_plugin_entry_v1(void);
const struct synod_plugin *synod_plugin_entry_v1(void)
{
	return &bad_plugin;
}
