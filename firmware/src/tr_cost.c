/* SysTick time base and cost counter (see tr_cost.h). */
#include "tr_cost.h"
#include "tr_cmsis_min.h"
#include "tr_watchdog.h"
#include "tr_board_config.h"

static volatile uint32_t tr_systick_periods;
static uint32_t tr_systick_reload;

void SysTick_Handler(void)
{
    tr_systick_periods++;
    tr_wdg_tick();
}

void tr_cost_init(uint32_t clock_hz)
{
    tr_systick_reload = clock_hz / TR_SYSTICK_HZ - 1u;
    TR_SYST_CSR = 0u;
    TR_SYST_RVR = tr_systick_reload;
    TR_SYST_CVR = 0u;
    TR_SYST_CSR = 0x7u;                 /* processor clock, interrupt, enable */
#if TR_COST_DWT
    TR_DEMCR |= (1u << 24);             /* TRCENA */
    TR_REG32(0xE0001FB0u) = 0xC5ACCE55u; /* DWT_LAR: Cortex-M7 ignores DWT writes until unlocked */
    TR_DWT_CYCCNT = 0u;
    TR_DWT_CTRL |= 1u;                  /* CYCCNTENA */
#endif
}

uint32_t tr_cost_now(void)
{
#if TR_COST_DWT
    return TR_DWT_CYCCNT;
#else
    /* periods * (reload + 1) + elapsed in this period. If the counter wrapped but the interrupt has
       not run yet (pending), the period count is one short: add it when the value read is from the
       new period (large, i.e. just reloaded). */
    uint32_t p1, p2, v, pend;
    do {
        p1 = tr_systick_periods;
        v = TR_SYST_CVR;
        pend = TR_SCB_ICSR & TR_ICSR_PENDSTSET;
        p2 = tr_systick_periods;
    } while (p1 != p2);
    if (pend && v > tr_systick_reload / 2u) {
        p1++;
    }
    return p1 * (tr_systick_reload + 1u) + (tr_systick_reload - v);
#endif
}

uint32_t tr_cost_calibrate(uint32_t loops)
{
    if (loops == 0u) {
        loops = 1u;
    }
    uint32_t t0 = tr_cost_now();
    __asm volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(loops) : : "cc");
    return tr_cost_now() - t0;
}
