/* The coordinator daemon: one process, one libwebsockets event loop. The
 * node owns the PBFT core, the certification app, the WAL and the
 * listener; the driver (driver.c) is the only code that steps the core and
 * touches the WAL; peer.c carries replica connections, http.c the API.
 *
 * Group commit (DESIGN.md, "Daemons and the network"): every event handled
 * in one loop turn is stepped at once, its records staged in the WAL and its
 * sends held; at the end of the turn one write and one fdatasync make all
 * the records durable, then the held sends leave. */
#ifndef SYNOD_NET_NODE_H
#define SYNOD_NET_NODE_H

#include "common/err.h"
#include "coordinator/net/limits.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct synod_node_config {
	char path[4096]; /* the config file, for messages */
	char data_dir[1024];
	char listen_host[SYNOD_NET_HOST_BYTES_MAX];
	uint16_t listen_port; /* 0: any; the bound port goes to data_dir/port */
	char cluster[1024];
	uint32_t self;
	char signer[SYNOD_URI_BYTES_MAX];
	uint32_t peer_count; /* equals the cluster's replicas */
	char peer_host[PBFT_REPLICAS_MAX][SYNOD_NET_HOST_BYTES_MAX];
	uint16_t peer_port[PBFT_REPLICAS_MAX];
	char tls_cert[1024]; /* "" : no TLS */
	char tls_key[1024];
	uint64_t tick_ms; /* the primary proposes a TICK this often */
	uint64_t timeout_ms_min;
	uint64_t timeout_ms_max;
	uint64_t batch_delay_ms;
	uint32_t checkpoint_interval;
	uint32_t window;
	uint32_t connections_max;
	uint32_t peer_queue_msgs;
};

/* Loads the daemon's JSON config (common/config: errors name the file, the
 * key and the problem). Keys: data_dir, listen ("host:port"), cluster (path
 * of cluster.json), self, signer (URI), peers (array of "host:port" by
 * replica index, self's entry included), optional tls {cert, key}, tick_ms,
 * pbft {timeout_ms_min, timeout_ms_max, batch_delay_ms,
 * checkpoint_interval, window}, limits {connections_max, peer_queue_msgs}.
 * Unknown keys are refused. */
SYNOD_WUR int synod_node_config_load(struct synod_node_config *c, const char *path, char *errmsg,
                                     size_t errmsg_len);

struct synod_node;

/* Opens everything: signer (its key must be the cluster's replica self),
 * cluster, app, PBFT core, the WAL in data_dir/wal (replayed into the core:
 * a torn tail is cut and logged, corruption refuses with the segment and
 * offset), the listener (bound port written to data_dir/port). errmsg says
 * what failed. */
SYNOD_WUR int synod_node_open(struct synod_node **out, const struct synod_node_config *cfg,
                              char *errmsg, size_t errmsg_len);
/* Serves until synod_node_stop; returns 0, or SYNOD_EIO when the WAL failed
 * (the process must restart from its files). */
SYNOD_WUR int synod_node_run(struct synod_node *n);
/* Async-signal-safe: asks run to return after the current turn (the WAL
 * write in flight completes first). */
void synod_node_stop(struct synod_node *n);
void synod_node_close(struct synod_node *n);

#endif
