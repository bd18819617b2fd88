/* SHA-256 and HMAC-SHA256 through libsodium. */
#include "parley/crypto.h"

#include <sodium.h>

void parley_sha256(const void *data, size_t len, parley_hash *out) {
  crypto_hash_sha256(out->b, data, len);
}

void parley_sha256_init(parley_sha256_ctx *ctx) {
  crypto_hash_sha256_init(&ctx->st);
}

void parley_sha256_update(parley_sha256_ctx *ctx, const void *data, size_t len) {
  crypto_hash_sha256_update(&ctx->st, data, len);
}

void parley_sha256_final(parley_sha256_ctx *ctx, parley_hash *out) {
  crypto_hash_sha256_final(&ctx->st, out->b);
  sodium_memzero(ctx, sizeof *ctx);
}

void parley_hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
                        uint8_t out[PARLEY_HASH_LEN]) {
  /* The init/update/final form takes a key of any length (longer keys are hashed,
   * as RFC 2104 says); crypto_auth_hmacsha256() itself wants exactly 32 bytes. */
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, key, keylen);
  crypto_auth_hmacsha256_update(&st, msg, len);
  crypto_auth_hmacsha256_final(&st, out);
  sodium_memzero(&st, sizeof st);
}
