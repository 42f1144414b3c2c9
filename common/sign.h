/* Ed25519 signing behind one interface chosen by URI, and verification.
 *
 * Every signature synod makes is domain-separated: the bytes signed are
 *     u8 tag_len || tag || cluster_id (32 bytes) || message
 * so a signature made for one purpose (a vote, a PBFT COMMIT) or one cluster
 * can never be replayed as another. Verification needs only the public key.
 *
 * Signer URIs:
 *   file:PATH   a 32-byte Ed25519 seed, stored as 64 hex characters and a
 *   file:///ABS newline; the file must be a regular file of mode exactly 0600
 *               (else SYNOD_EPERM). PATH is taken literally (no %-decoding).
 *   pkcs11:...  RFC 7512. Path attributes select the token (token=,
 *               manufacturer=, model=, serial=, slot-id=, slot-description=,
 *               slot-manufacturer=, library-*=) and the key (object= is the
 *               CKA_LABEL, id= the CKA_ID, type=private); query
 *               attributes give module-path= (default SoftHSM2's
 *               /usr/lib/softhsm/libsofthsm2.so) and pin-value= or
 *               pin-source=file:PATH. Values are %-decoded. Example:
 *               pkcs11:token=synod;object=voter-1?pin-source=file:/etc/synod/pin
 *
 * Counters: synod_signatures_made_total, synod_signatures_failed_total,
 * synod_signature_verifications_failed_total. */
#ifndef SYNOD_COMMON_SIGN_H
#define SYNOD_COMMON_SIGN_H

#include "common/err.h"
#include "common/limits.h"

#include <stddef.h>
#include <stdint.h>

/* Domain tags; one per kind of signed thing. */
#define SYNOD_TAG_VOTE      "synod/vote/v1"
#define SYNOD_TAG_PBFT      "synod/pbft/v1"
#define SYNOD_TAG_TREE_HEAD "synod/sth/v1"
#define SYNOD_TAG_TEST      "synod/test/v1"
#define SYNOD_TAG_PEER      "synod/peer/v1" /* replica connection handshake */

/* Bytes synod_sign_input writes for a tag of tag_len and a message of
 * msg_len bytes (1 + tag_len + SYNOD_CLUSTER_ID_BYTES + msg_len). */
#define SYNOD_SIGN_INPUT_BYTES(tag_len, msg_len)                                                   \
	(1u + (size_t)(tag_len) + SYNOD_CLUSTER_ID_BYTES + (size_t)(msg_len))

/* Writes the domain-separated bytes into out (cap bytes, borrowed); *len gets
 * their length. SYNOD_EINVAL for a NULL, empty or longer than
 * SYNOD_SIGN_TAG_BYTES_MAX tag, SYNOD_ELIMIT for a message longer than
 * SYNOD_SIGN_MSG_BYTES_MAX or when out is too small. */
SYNOD_WUR int synod_sign_input(uint8_t *out, size_t cap, size_t *len, const char *tag,
                               const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES], const uint8_t *msg,
                               size_t msg_len);

struct synod_signer; /* opaque */

/* Opens the key at uri (borrowed, at most SYNOD_URI_BYTES_MAX bytes). On
 * success *out is owned by the caller, who frees it with synod_signer_close.
 * On failure *out is NULL and errmsg (errmsg_len bytes, may be 0) says what
 * and where (file, mode, token, object, PKCS#11 function and CKR_ code).
 * Errors: SYNOD_EURI (malformed or unsupported URI), SYNOD_EPERM (key file
 * mode is not 0600), SYNOD_EKEYFILE (key file malformed or not a regular
 * file), SYNOD_EIO, SYNOD_ENOTFOUND (no such file, token or key),
 * SYNOD_EPKCS11 (a PKCS#11 call failed, wrong PIN included), SYNOD_ELIMIT,
 * SYNOD_ENOMEM, SYNOD_ECRYPTO (the key's public half does not match it). */
SYNOD_WUR int synod_signer_open(struct synod_signer **out, const char *uri, char *errmsg,
                                size_t errmsg_len);
/* Wipes the key material, closes sessions and frees s. NULL is a no-op. */
void synod_signer_close(struct synod_signer *s);
/* Copies the public key into pk. */
void synod_signer_pubkey(const struct synod_signer *s, uint8_t pk[SYNOD_PUBKEY_BYTES]);
/* Signs the domain-separated message (all pointers borrowed). Messages up to a
 * few KiB are framed on the stack; larger ones take one malloc. Thread-
 * compatible, not thread-safe: use one signer per thread or a lock.
 * Errors: SYNOD_EINVAL and SYNOD_ELIMIT as for synod_sign_input,
 * SYNOD_ENOMEM, SYNOD_EPKCS11 or SYNOD_ECRYPTO (synod_signer_errmsg says
 * which call failed). */
SYNOD_WUR int synod_signer_sign(struct synod_signer *s, uint8_t sig[SYNOD_SIG_BYTES],
                                const char *tag, const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES],
                                const uint8_t *msg, size_t msg_len);
/* The last sign error of s in words ("" when none); valid until the next call
 * on s. */
const char *synod_signer_errmsg(const struct synod_signer *s);

/* 0 when sig is pk's signature over the domain-separated message, else
 * SYNOD_EBADSIG (or SYNOD_EINVAL for a bad tag, SYNOD_ELIMIT for an
 * oversized message, SYNOD_ENOMEM, SYNOD_ECRYPTO). Strict: see
 * synod_ed25519_verify. Thread-safe. */
SYNOD_WUR int synod_sig_verify(const uint8_t sig[SYNOD_SIG_BYTES], const char *tag,
                               const uint8_t cluster_id[SYNOD_CLUSTER_ID_BYTES], const uint8_t *msg,
                               size_t msg_len, const uint8_t pk[SYNOD_PUBKEY_BYTES]);

/* Plain Ed25519 (RFC 8032), no domain separation: for test vectors only.
 * 0 or SYNOD_EBADSIG (SYNOD_ECRYPTO if libsodium cannot start). Rejects
 * S >= L, non-canonical or small-order R and A, as libsodium 1.0.18 does
 * (checked against every Wycheproof vector). Thread-safe. */
SYNOD_WUR int synod_ed25519_verify(const uint8_t sig[SYNOD_SIG_BYTES], const uint8_t *msg,
                                   size_t msg_len, const uint8_t pk[SYNOD_PUBKEY_BYTES]);

/* Creates a key at uri (borrowed): a new file, created with O_EXCL and mode
 * 0600 and fsynced (SYNOD_EEXIST when it exists), or a new key pair inside the
 * token (private half sensitive and non-extractable; SYNOD_EEXIST when an
 * object with that label exists). seed (borrowed) may be NULL (random) or
 * SYNOD_SEED_BYTES to import (for tests and migration; inside a token it is
 * imported as a sensitive, non-extractable private key). pk gets the public
 * key. Other errors as for synod_signer_open. */
SYNOD_WUR int synod_keygen(const char *uri, const uint8_t *seed, uint8_t pk[SYNOD_PUBKEY_BYTES],
                           char *errmsg, size_t errmsg_len);

#endif
