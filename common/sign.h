/* Ed25519 signing behind one interface chosen by URI, and verification.
 *
 * Every signature synod makes is domain-separated: the bytes signed are
 *     u8 tag_len || tag || cluster_id (32 bytes) || message
 * so a signature made for one purpose (a vote, a PBFT COMMIT) or one cluster
 * can never be replayed as another. Verification needs only the public key.
 *
 * Signer URIs:
 *   file:PATH   a 32-byte Ed25519 seed, stored as 64 hex characters and a
 *               newline; the file must be mode 0600 (else SYNOD_EPERM).
 *   pkcs11:...  RFC 7512: token=LABEL;object=LABEL path attributes and
 *               module-path=, pin-value= or pin-source= query attributes
 *               (module defaults to SoftHSM2's). */
#ifndef SYNOD_COMMON_SIGN_H
#define SYNOD_COMMON_SIGN_H

#include "common/err.h"
#include "common/limits.h"

#include <stddef.h>
#include <stdint.h>

/* Domain tags; one per kind of signed thing. */
#define SYNOD_TAG_VOTE       "synod/vote/v1"
#define SYNOD_TAG_PBFT       "synod/pbft/v1"
#define SYNOD_TAG_TREE_HEAD  "synod/sth/v1"
#define SYNOD_TAG_TEST       "synod/test/v1"

/* Writes the domain-separated bytes into out (cap bytes); *len gets their
 * length. SYNOD_EINVAL for a tag longer than SYNOD_SIGN_TAG_BYTES_MAX or
 * empty, SYNOD_ELIMIT when out is too small. */
SYNOD_WUR int synod_sign_input(uint8_t *out, size_t cap, size_t *len, const char *tag,
			       const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES], const uint8_t *msg,
			       size_t msg_len);

struct synod_signer; /* opaque */

/* Opens the key at uri. *out is owned by the caller (synod_signer_close).
 * On failure errmsg says what and where (file, token, object). */
SYNOD_WUR int synod_signer_open(struct synod_signer **out, const char *uri, char *errmsg,
				size_t errmsg_len);
void synod_signer_close(struct synod_signer *s);
void synod_signer_pubkey(const struct synod_signer *s, uint8_t pk[SYNOD_PUBKEY_BYTES]);
/* Signs the domain-separated message. Thread-compatible, not thread-safe. */
SYNOD_WUR int synod_signer_sign(struct synod_signer *s, uint8_t sig[SYNOD_SIG_BYTES],
				const char *tag, const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
				const uint8_t *msg, size_t msg_len);

/* 0 when sig is pk's signature over the domain-separated message, else
 * SYNOD_EBADSIG (or SYNOD_EINVAL for a bad tag). */
SYNOD_WUR int synod_sig_verify(const uint8_t sig[SYNOD_SIG_BYTES], const char *tag,
			       const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES], const uint8_t *msg,
			       size_t msg_len, const uint8_t pk[SYNOD_PUBKEY_BYTES]);

/* Plain Ed25519 (RFC 8032), no domain separation: for test vectors only. */
SYNOD_WUR int synod_ed25519_verify(const uint8_t sig[SYNOD_SIG_BYTES], const uint8_t *msg,
				   size_t msg_len, const uint8_t pk[SYNOD_PUBKEY_BYTES]);

/* Creates a key at uri: a new file (refuses to overwrite, SYNOD_EEXIST) or a
 * new key pair inside the token (non-extractable, sensitive; refuses when
 * the object label exists). seed may be NULL (random) or 32 bytes to import
 * (for tests and migration; inside a token it is imported as a sensitive,
 * non-extractable private key). pk gets the public key. */
SYNOD_WUR int synod_keygen(const char *uri, const uint8_t *seed, uint8_t pk[SYNOD_PUBKEY_BYTES],
			   char *errmsg, size_t errmsg_len);

#endif
