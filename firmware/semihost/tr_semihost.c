/* Arm semihosting calls (see tr_semihost.h). */
#include "tr_semihost.h"

#include <string.h>

enum {
    SYS_OPEN = 0x01,
    SYS_CLOSE = 0x02,
    SYS_WRITE0 = 0x04,
    SYS_WRITE = 0x05,
    SYS_READ = 0x06,
    SYS_EXIT = 0x18,
};

int32_t tr_semihost(int32_t op, const void *arg)
{
    register int32_t r0 __asm("r0") = op;
    register const void *r1 __asm("r1") = arg;
    __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void tr_semihost_puts(const char *s)
{
    (void)tr_semihost(SYS_WRITE0, s);
}

void tr_semihost_put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = 0;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u && i > 0);
    tr_semihost_puts(&buf[i]);
}

void tr_semihost_put_hex32(uint32_t v)
{
    static const char digits[] = "0123456789abcdef";
    char buf[9];
    int i;
    for (i = 0; i < 8; i++) {
        buf[i] = digits[(v >> (28 - 4 * i)) & 0xFu];
    }
    buf[8] = 0;
    tr_semihost_puts(buf);
}

void tr_semihost_exit(int code)
{
    /* 32-bit SYS_EXIT: r1 holds the reason. ApplicationExit -> QEMU status 0, RunTimeErrorUnknown -> 1. */
    const uintptr_t reason = code == 0 ? 0x20026u : 0x20024u;
    for (;;) {
        (void)tr_semihost(SYS_EXIT, (const void *)reason);
    }
}

int32_t tr_semihost_open(const char *path, int32_t mode)
{
    const int32_t arg[3] = {(int32_t)(uintptr_t)path, mode, (int32_t)strlen(path)};
    return tr_semihost(SYS_OPEN, arg);
}

int32_t tr_semihost_read(int32_t fd, void *buf, int32_t n)
{
    const int32_t arg[3] = {fd, (int32_t)(uintptr_t)buf, n};
    return tr_semihost(SYS_READ, arg);
}

int32_t tr_semihost_write(int32_t fd, const void *buf, int32_t n)
{
    const int32_t arg[3] = {fd, (int32_t)(uintptr_t)buf, n};
    return tr_semihost(SYS_WRITE, arg);
}

void tr_semihost_close(int32_t fd)
{
    (void)tr_semihost(SYS_CLOSE, &fd);
}
