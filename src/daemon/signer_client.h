/* Every signature parleyd makes with the hub key goes through here: in process (the
 * key loaded by main.c), or, with --signer SOCKET, by parleyd-signer (src/signer), in
 * which case parleyd never opens the key file and learns only the public key. */
#ifndef PARLEYD_SIGNER_CLIENT_H
#define PARLEYD_SIGNER_CLIENT_H

#include <jansson.h>

#include "parley/crypto.h"
#include "parley/store.h"
#include "parley/tlog.h"

/* With cfg.signer_socket set: asks the signer for the hub's public key and checks it
 * signs for cfg.origin; fills parleyd->hub_key.sign_pk and hub_key_id. */
parley_err parleyd_signer_start(parley_error *err);
bool parleyd_signer_remote(void);
/* The last checkpoint the signer signed (*signed_one false: none yet). */
parley_err parleyd_signer_last_signed(bool *signed_one, uint64_t *size, uint8_t root[32],
                                      parley_error *err);
/* Signs the checkpoint `text` as a note appended to `note`. With the signer, the
 * request carries a consistency proof (read in tx) from the last checkpoint the signer
 * signed; its refusal is SIGNER_REFUSED (logged as signer.refused). */
parley_qs parleyd_sign_checkpoint(parley_tx *tx, const char *text, size_t len, parley_buf *note,
                                  parley_error *err);
/* Records a checkpoint this hub signed or kept (the start-up check's, each signed one):
 * parleyd_sign_checkpoint refuses (SIGNER_REFUSED, logged as checkpoint.fork_refused,
 * counted as a refusal) a checkpoint smaller than the newest, or whose store does not
 * give the newest one's root. */
void parleyd_checkpoint_signed(uint64_t size, const uint8_t root[32]);
/* parley_signed_json_sign with the hub key (obj gains "signature"). */
parley_err parleyd_sign_statement(json_t *obj, const char *purpose, parley_error *err);
/* parley_sign with purpose "webhook". */
parley_err parleyd_sign_webhook(const char *body, size_t len, parley_sig *sig, parley_error *err);
/* Signatures the signer refused, and requests it did not answer (for /metrics). */
void parleyd_signer_failures(uint64_t *refused, uint64_t *unavailable);
/* The hub's note verifier key (origin and public key). */
void parleyd_hub_note_verifier(parley_note_verifier *v);

#endif
