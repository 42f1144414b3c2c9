/* The synod evaluation plugin ABI, version 1.
 *
 * A plugin is a shared object that exports one symbol, SYNOD_PLUGIN_ENTRY
 * ("synod_plugin_entry_v1"), a function returning a pointer to a static
 * struct synod_plugin. It is never loaded into the voter: the voter starts a
 * separate process, synod-plugin-host, which dlopens the plugin and talks to
 * the voter over two pipes (voter/proto.h). The plugin therefore never sees
 * the voter's signing key or sockets, and a crash, hang or runaway allocation
 * costs one evaluation, not the voter.
 *
 * What a plugin sees. evaluate() gets two JSON texts:
 *   request  the certification request exactly as committed in the PBFT log
 *            (a SUBMIT payload, canonical JSON, at most 8191 bytes; see
 *            coordinator/app/README.md "Requests"): "system" {"id","version"},
 *            "artifacts" [{"name","sha256"}], "policy", "submitter",
 *            "deadline_ms". Nothing else is in today's format; the fields
 *            proposed for model cards, evaluation scores and declared
 *            capabilities ("model_card", "evaluations", "capabilities") are
 *            described in voter/README.md and read by the rules plugin when
 *            present. The request id (SHA-256 of these bytes), the epoch, the
 *            seat and the cluster are not given: a verdict must depend on
 *            the request and the policy only.
 *   policy   the voter's evaluation policy for the request's "policy" name
 *            (a JSON document the operator configures, e.g.
 *            policies/rules-baseline.json), at most 32 KiB.
 * Both are NUL-terminated for convenience; the lengths exclude the NUL.
 *
 * The reason a plugin writes is JSON text (an object), at most
 * SYNOD_PLUGIN_REASON_BYTES_MAX bytes. The voter re-encodes it canonically;
 * its SHA-256 is the vote's reason_digest and the text is published.
 *
 * Threading: the host calls one function at a time. A plugin may keep state
 * between evaluations (init's *state) but must not rely on it: the host may
 * be restarted at any time (after a failure, or after a number of
 * evaluations), and evaluate must be a function of its inputs. */
#ifndef SYNOD_VOTER_PLUGIN_H
#define SYNOD_VOTER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define SYNOD_PLUGIN_ABI_VERSION      1u
#define SYNOD_PLUGIN_ENTRY            "synod_plugin_entry_v1"
#define SYNOD_PLUGIN_REASON_BYTES_MAX 4096u
#define SYNOD_PLUGIN_ERRMSG_BYTES     256u

enum synod_plugin_verdict {
	SYNOD_PLUGIN_APPROVE = 1,
	SYNOD_PLUGIN_REJECT = 2,
};

struct synod_plugin {
	/* SYNOD_PLUGIN_ABI_VERSION at build time; the host refuses others. */
	uint32_t abi_version;
	/* Name (1..64) and version (1..32) of [A-Za-z0-9._+:/@-]: they go into
	 * every vote as "plugin". Static strings. */
	const char *name;
	const char *version;
	/* Reads the plugin's configuration (JSON text, borrowed) and sets *state
	 * (owned by the plugin, passed back to evaluate and close). Returns 0, or
	 * nonzero with a message in errmsg (errmsg_len bytes): the voter logs it
	 * and the plugin is not used. */
	int (*init)(void **state, const char *config, size_t config_len, char *errmsg,
	            size_t errmsg_len);
	/* Evaluates request against policy (borrowed, see above). On 0, *verdict
	 * is SYNOD_PLUGIN_APPROVE or SYNOD_PLUGIN_REJECT and reason[0..*reason_len)
	 * holds the reason JSON (reason_cap is SYNOD_PLUGIN_REASON_BYTES_MAX).
	 * Nonzero: no verdict (the voter casts no vote, or its configured
	 * fallback); reason then holds a message for the log. A verdict must not
	 * depend on anything but the inputs. */
	int (*evaluate)(void *state, const char *request, size_t request_len, const char *policy,
	                size_t policy_len, int *verdict, char *reason, size_t reason_cap,
	                size_t *reason_len);
	/* Frees state. May be NULL. */
	void (*close)(void *state);
};

/* The one exported symbol (name SYNOD_PLUGIN_ENTRY). */
typedef const struct synod_plugin *(*synod_plugin_entry_fn)(void);

#endif
