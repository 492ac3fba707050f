/* Arm semihosting for bare-metal runs in QEMU (-semihosting-config enable=on,target=native):
 * console output, host files and exit. Used by the measurement runners (bench/mbdp_fw and the
 * `nn verify --engine board:` runner), never by the HIL firmware, which talks over its UART. */
#ifndef TR_SEMIHOST_H
#define TR_SEMIHOST_H

#include <stdint.h>

/* One semihosting call (BKPT 0xAB): operation in r0, argument block in r1, result in r0. */
int32_t tr_semihost(int32_t op, const void *arg);

/* SYS_WRITE0: print a NUL-terminated string on the host console. */
void tr_semihost_puts(const char *s);
void tr_semihost_put_u32(uint32_t v);
void tr_semihost_put_hex32(uint32_t v);

/* SYS_EXIT: end the run; QEMU exits with status 0 for code 0, 1 otherwise. Never returns. */
void tr_semihost_exit(int code) __attribute__((noreturn));

/* Host files, relative to QEMU's working directory. mode is the semihosting fopen mode
 * (1 = "rb", 5 = "wb"). read/write return the number of bytes NOT transferred (0 = all). */
int32_t tr_semihost_open(const char *path, int32_t mode);
int32_t tr_semihost_read(int32_t fd, void *buf, int32_t n);
int32_t tr_semihost_write(int32_t fd, const void *buf, int32_t n);
void tr_semihost_close(int32_t fd);

#endif
