/* Software watchdog and fault reporting (see tr_watchdog.h). */
#include "tr_watchdog.h"
#include "tr_cmsis_min.h"
#include "tr_link.h"
#include "tr_board_config.h"

#define TR_NOINIT_MAGIC 0x7452574Bu   /* "tRWK" */

/* Survives a core reset (not zeroed by the startup code, not loaded from the ELF). */
static struct {
    uint32_t magic;
    uint32_t reason;
} tr_noinit __attribute__((section(".noinit")));

static volatile uint32_t tr_wdg_left = TR_WDG_TIMEOUT_TICKS;
static tr_uart_instance *tr_wdg_uart;
static uint8_t tr_wdg_boot_reason;

#if defined(TR_IWDG_BASE)
/* STM32 independent watchdog: KR +0x0 (0xCCCC start, 0xAAAA refresh, 0x5555 unlock PR/RLR),
   PR +0x4 (3 = /32: ~1 kHz from the ~32 kHz LSI), RLR +0x8 (12 bit). It also catches hangs the
   SysTick watchdog cannot: interrupts masked, or a hang inside an interrupt handler. */
#define TR_IWDG_KR  TR_REG32(TR_IWDG_BASE + 0x0u)
#define TR_IWDG_PR  TR_REG32(TR_IWDG_BASE + 0x4u)
#define TR_IWDG_RLR TR_REG32(TR_IWDG_BASE + 0x8u)
#define TR_RCC_CSR_IWDGRSTF (1u << 29)
#define TR_RCC_CSR_RMVF     (1u << 24)

static void tr_iwdg_start(void)
{
    TR_IWDG_KR = 0xCCCCu;
    TR_IWDG_KR = 0x5555u;
    TR_IWDG_PR = 3u;
    TR_IWDG_RLR = 1000u;                /* ~1 s: well above the 200 ms software watchdog */
    TR_IWDG_KR = 0xAAAAu;
}
#endif

void tr_wdg_init(tr_uart_instance *uart)
{
    tr_wdg_uart = uart;
    tr_wdg_boot_reason = (tr_noinit.magic == TR_NOINIT_MAGIC) ? (uint8_t)tr_noinit.reason : TR_RESET_POWER_ON;
    tr_noinit.magic = 0u;
#if defined(TR_IWDG_BASE)
    if (TR_REG32(TR_RCC_CSR) & TR_RCC_CSR_IWDGRSTF) {
        tr_wdg_boot_reason = TR_RESET_WATCHDOG;
    }
    TR_REG32(TR_RCC_CSR) |= TR_RCC_CSR_RMVF;
    tr_iwdg_start();
#endif
    tr_wdg_left = TR_WDG_TIMEOUT_TICKS;
}

uint8_t tr_wdg_reset_reason(void) { return tr_wdg_boot_reason; }

void tr_wdg_kick(void)
{
    tr_wdg_left = TR_WDG_TIMEOUT_TICKS;
#if defined(TR_IWDG_BASE)
    TR_IWDG_KR = 0xAAAAu;
#endif
}

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
