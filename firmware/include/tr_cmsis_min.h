/* The few Cortex-M system registers the runtime touches (addresses from the Armv7-M / Armv8-M
   architecture reference manuals; identical on every core we support). */
#ifndef TR_CMSIS_MIN_H
#define TR_CMSIS_MIN_H
#include <stdint.h>

#define TR_REG32(a) (*(volatile uint32_t *)(a))
#define TR_SYST_CSR   TR_REG32(0xE000E010u)   /* SysTick control and status */
#define TR_SYST_RVR   TR_REG32(0xE000E014u)   /* reload value (24 bit) */
#define TR_SYST_CVR   TR_REG32(0xE000E018u)   /* current value, counts down */
#define TR_SCB_ICSR   TR_REG32(0xE000ED04u)
#define TR_SCB_AIRCR  TR_REG32(0xE000ED0Cu)
#define TR_SCB_CPACR  TR_REG32(0xE000ED88u)
#define TR_DEMCR      TR_REG32(0xE000EDFCu)
#define TR_DWT_CTRL   TR_REG32(0xE0001000u)
#define TR_DWT_CYCCNT TR_REG32(0xE0001004u)
#define TR_ICSR_PENDSTSET (1u << 26)

static inline void tr_dsb(void) { __asm volatile("dsb 0xF" ::: "memory"); }
static inline void tr_isb(void) { __asm volatile("isb 0xF" ::: "memory"); }
static inline void tr_irq_enable(void) { __asm volatile("cpsie i" ::: "memory"); }
static inline void tr_irq_disable(void) { __asm volatile("cpsid i" ::: "memory"); }

static inline void tr_system_reset(void)
{
    tr_dsb();
    TR_SCB_AIRCR = (0x05FAu << 16) | (1u << 2);   /* VECTKEY | SYSRESETREQ */
    tr_dsb();
    for (;;) {
    }
}

#endif
