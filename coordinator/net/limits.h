/* Limits of the coordinator daemon's network side: connections, queues,
 * message sizes, HTTP bodies, timers. */
#ifndef SYNOD_NET_LIMITS_H
#define SYNOD_NET_LIMITS_H

#include "coordinator/app/limits.h"
#include "coordinator/pbft/limits.h"

/* Connections of every kind accepted at once (peers, HTTP clients; voters
 * later); more are refused at accept and counted. */
#define SYNOD_NET_CONNECTIONS_MAX 256u
/* Seconds an incoming peer connection has to finish its handshake. */
#define SYNOD_NET_HANDSHAKE_S 5
/* Messages and bytes queued for one peer; a full queue drops (counted) and
 * PBFT retransmission recovers. */
#define SYNOD_NET_PEER_QUEUE_MSGS  1024u
#define SYNOD_NET_PEER_QUEUE_BYTES (64u * 1024u * 1024u)
/* One WebSocket frame written per writeable callback (large messages, a
 * STATE, go out as fragments). */
#define SYNOD_NET_FRAGMENT_BYTES (64u * 1024u)
/* The largest PBFT message taken from a peer (the decoder checks the exact
 * per-type bounds afterwards). */
#define SYNOD_NET_MSG_BYTES_MAX (128u * 1024u * 1024u)
/* Reconnect backoff: from min doubling to max, with +-25 % jitter. */
#define SYNOD_NET_BACKOFF_MS_MIN 50u
#define SYNOD_NET_BACKOFF_MS_MAX 5000u
/* HTTP: request bodies, paths, responses. */
#define SYNOD_NET_HTTP_BODY_BYTES_MAX SYNOD_APP_REQUEST_BYTES_MAX
#define SYNOD_NET_HTTP_URI_BYTES_MAX  256u
#define SYNOD_NET_HTTP_RESP_BYTES_MAX (256u * 1024u)
/* POST /v1/requests answers 202 only once the SUBMIT has committed here
 * (then it is durable at 2f+1 replicas and survives any f crashes); a
 * commit takes ~1 ms, a view change seconds. After this wait the answer is
 * 503 + Retry-After: the request may still be ordered, and sending the same
 * body again is safe (its id is its hash; duplicates are suppressed). */
#define SYNOD_NET_HTTP_COMMIT_WAIT_MS 10000u
#define SYNOD_NET_HTTP_RETRY_AFTER_S  1u
/* POSTs waiting for their commit at once (each holds its connection). */
#define SYNOD_NET_HTTP_WAITERS_MAX SYNOD_NET_CONNECTIONS_MAX
/* Refused SUBMITs remembered for GET /v1/requests/{id}. */
#define SYNOD_NET_REFUSED_KEPT 256u
/* Events handled in one loop turn before the group is flushed anyway. */
#define SYNOD_NET_TURN_STEPS_MAX 4096u
/* Host names in addresses. */
#define SYNOD_NET_HOST_BYTES_MAX 256u

_Static_assert(SYNOD_NET_PEER_QUEUE_MSGS >= 2u * PBFT_SENDS_MAX, "a step's sends fit a queue");
_Static_assert(SYNOD_NET_HTTP_BODY_BYTES_MAX + 1u <= SYNOD_APP_ENTRY_BYTES_MAX,
               "a request body fits a SUBMIT entry");

#endif
