/* parley keygen, parley key show. */
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "cli.h"

static void print_public(const parley_public_identity *pub) {
  char b64[PARLEY_KEY_B64_LEN], kid[PARLEY_KEY_ID_LEN], fpr[PARLEY_FINGERPRINT_HEX_LEN];
  char disp[PARLEY_FINGERPRINT_DISPLAY_LEN];
  parley_sign_pk_to_b64(&pub->sign_pk, b64);
  parley_sign_pk_key_id(&pub->sign_pk, kid);
  parley_sign_pk_fingerprint(&pub->sign_pk, fpr);
  parley_fingerprint_display(fpr, disp);
  if (cli.json_output) {
    char bb64[PARLEY_KEY_B64_LEN], bkid[PARLEY_KEY_ID_LEN];
    parley_box_pk_to_b64(&pub->box_pk, bb64);
    parley_box_pk_key_id(&pub->box_pk, bkid);
    printf("{\"sign_pk\":\"%s\",\"key_id\":\"%s\",\"fingerprint\":\"%s\",\"box_pk\":\"%s\","
           "\"box_key_id\":\"%s\"}\n",
           b64, kid, fpr, bb64, bkid);
    return;
  }
  printf("signing key:     %s\n", b64);
  printf("key id:          %s\n", kid);
  printf("fingerprint:     %s\n", disp);
  parley_box_pk_to_b64(&pub->box_pk, b64);
  parley_box_pk_key_id(&pub->box_pk, kid);
  printf("encryption key:  %s\n", b64);
  printf("encryption id:   %s\n", kid);
}

int cmd_keygen(int argc, char **argv) {
  static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                       {"insecure-no-passphrase", no_argument, 0, 'n'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  const char *out = NULL;
  bool no_pass = false;
  int ch;
  while ((ch = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
    if (ch == 'o')
      out = optarg;
    else if (ch == 'n')
      no_pass = true;
    else {
      fputs("Usage: parley keygen --out FILE [--insecure-no-passphrase]\n"
            "Creates FILE (secret keys, mode 0600, encrypted with a passphrase from\n"
            "PARLEY_PASSPHRASE or the terminal) and FILE.pub (public keys).\n"
            "--insecure-no-passphrase stores the secret unencrypted: tests and demos only.\n",
            ch == 'h' ? stdout : stderr);
      return ch == 'h' ? 0 : 2;
    }
  }
  if (!out) return cli_fail("keygen: give --out FILE");
  struct stat st;
  if (stat(out, &st) == 0) return cli_fail("keygen: %s exists; refusing to overwrite a key", out);
  char pass[256] = "";
  if (!no_pass &&
      !cli_read_passphrase("New passphrase for the key file: ", true, pass, sizeof pass))
    return cli_fail("keygen: no passphrase (set PARLEY_PASSPHRASE, run from a terminal, or "
                    "pass --insecure-no-passphrase for a test key)");
  parley_identity id;
  parley_identity_generate(&id);
  parley_error err;
  parley_err e = parley_identity_save(out, &id, no_pass ? NULL : pass, &err);
  sodium_memzero(pass, sizeof pass);
  if (e) {
    parley_identity_wipe(&id);
    return cli_fail_err(out, &err);
  }
  parley_public_identity pub;
  parley_identity_public(&id, &pub);
  parley_identity_wipe(&id);
  char pubpath[600];
  snprintf(pubpath, sizeof pubpath, "%s.pub", out);
  if (parley_public_save(pubpath, &pub, &err) != PARLEY_E_OK) return cli_fail_err(pubpath, &err);
  if (!cli.json_output) printf("wrote %s and %s\n", out, pubpath);
  print_public(&pub);
  return 0;
}

int cmd_key_show(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    puts("Usage: parley key show [FILE]\n"
         "Shows the public keys, key id and fingerprint of FILE (a secret key file or a\n"
         ".pub file; default: the configured key). Read the fingerprint aloud to whoever\n"
         "must pin your key.");
    return 0;
  }
  const char *path = argc > 1 ? argv[1] : cli.key_file;
  if (!path || !*path) return cli_fail("key show: give a FILE or configure key = FILE");
  parley_public_identity pub;
  parley_error err;
  if (parley_public_load(path, &pub, &err) != PARLEY_E_OK) {
    /* Not a public file: read the public half of a secret file without decrypting
     * (parley_identity_load checks it against the secret when the key is used). */
    json_error_t jerr;
    json_t *f = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    const char *fmt = json_string_value(json_object_get(f, "format"));
    if (!f || !fmt || strcmp(fmt, "parley-secret-key-v1") != 0 ||
        parley_sign_pk_from_b64(json_string_value(json_object_get(f, "sign_pk")), &pub.sign_pk) !=
            PARLEY_E_OK ||
        parley_box_pk_from_b64(json_string_value(json_object_get(f, "box_pk")), &pub.box_pk) !=
            PARLEY_E_OK) {
      json_decref(f);
      return cli_fail_err(path, &err);
    }
    json_decref(f);
  }
  print_public(&pub);
  return 0;
}
