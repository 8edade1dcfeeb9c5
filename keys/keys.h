/*
 * keys.h - posfleet-keys subcommands.
 *
 * Two families share the binary: the signing-key chain of bundles
 * (cmd_ring.c: init, add, revoke, rotate-root, show) and the development PKI
 * of the broker (cmd_pki.c: ca-init, server-cert, device-cert, cert-revoke,
 * crl, api-token). Each command takes argv after its own name and returns
 * the process exit code (0 ok, 1 refused/failed with a message on stderr,
 * 2 usage). Private keys are written 0600 and never printed.
 */
#ifndef PFK_KEYS_H
#define PFK_KEYS_H

int pfk_cmd_init(int argc, char **argv);
int pfk_cmd_add(int argc, char **argv);
int pfk_cmd_revoke(int argc, char **argv);
int pfk_cmd_rotate_root(int argc, char **argv);
int pfk_cmd_show(int argc, char **argv);

int pfk_cmd_ca_init(int argc, char **argv);
int pfk_cmd_server_cert(int argc, char **argv);
int pfk_cmd_device_cert(int argc, char **argv);
int pfk_cmd_cert_revoke(int argc, char **argv);
int pfk_cmd_crl(int argc, char **argv);
int pfk_cmd_api_token(int argc, char **argv);

#endif
