/* Software watchdog and fault reporting (see tr_watchdog.h). */
#include "tr_watchdog.h"
#include "tr_cmsis_min.h"
#include "tr_link.h"

#define TR_NOINIT_MAGIC 0x7452574Bu   /* "tRWK" */

/* Survives a core reset (not zeroed by the startup code, not loaded from the ELF). */
static struct {
    uint32_t magic;
    uint32_t reason;
} tr_noinit __attribute__((section(".noinit")));

static volatile uint32_t tr_wdg_left = TR_WDG_TIMEOUT_TICKS;
static tr_uart_instance *tr_wdg_uart;
static uint8_t tr_wdg_boot_reason;

void tr_wdg_init(tr_uart_instance *uart)
{
    tr_wdg_uart = uart;
    tr_wdg_boot_reason = (tr_noinit.magic == TR_NOINIT_MAGIC) ? (uint8_t)tr_noinit.reason : TR_RESET_POWER_ON;
    tr_noinit.magic = 0u;
    tr_wdg_left = TR_WDG_TIMEOUT_TICKS;
}

uint8_t tr_wdg_reset_reason(void) { return tr_wdg_boot_reason; }

void tr_wdg_kick(void) { tr_wdg_left = TR_WDG_TIMEOUT_TICKS; }

void tr_wdg_tick(void)
{
    if (tr_wdg_left > 0u && --tr_wdg_left == 0u) {
        tr_fault_reset(TR_RESET_WATCHDOG);
    }
}

void tr_fault_reset(uint8_t reason)
{
    tr_irq_disable();
    uint8_t buf[16];
    /* A leading delimiter closes whatever half frame was on the line. */
    size_t n = tr_link_encode_fault(reason, buf + 1, sizeof buf - 1u);
    buf[0] = 0u;
    if (tr_wdg_uart) {
        tr_uart_write_blocking(tr_wdg_uart, buf, (uint32_t)(n + 1u));
    }
    tr_noinit.magic = TR_NOINIT_MAGIC;
    tr_noinit.reason = reason;
    tr_system_reset();
    for (;;) {
    }
}

void HardFault_Handler(void) { tr_fault_reset(TR_RESET_HARDFAULT); }
