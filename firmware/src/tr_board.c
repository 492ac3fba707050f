/* Board bring-up from the generated tr_board_config.h: clock gates and UART pin multiplexing that
   real STM32 silicon needs (the emulated boards list none). */
#include "tr_board.h"
#include "tr_cmsis_min.h"
#include "tr_board_config.h"

#if TR_BOARD_N_CLOCK_ENABLES > 0
static const struct { uint32_t reg; uint32_t bit; } tr_clock_enables[] = TR_BOARD_CLOCK_ENABLES;
#endif
#if TR_BOARD_N_PINS > 0
static const struct { uint32_t gpio; uint32_t pin; uint32_t af; } tr_pins[] = TR_BOARD_PINS;
#endif

#define TR_STACK_PATTERN 0xA5A5A5A5u
extern uint32_t __stack_limit, __stack_top;

void tr_stack_paint(void)
{
    /* Runs on the stack it paints: stop 64 bytes below the current stack pointer. */
    uintptr_t sp;
    __asm volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = &__stack_limit; (uintptr_t)p < sp - 64u; p++) {
        *p = TR_STACK_PATTERN;
    }
}

uint32_t tr_stack_used_bytes(void)
{
    const uint32_t *p = &__stack_limit;
    while (p < &__stack_top && *p == TR_STACK_PATTERN) {
        p++;
    }
    return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)p);
}

void tr_board_init(void)
{
#if TR_BOARD_N_CLOCK_ENABLES > 0
    for (unsigned k = 0; k < TR_BOARD_N_CLOCK_ENABLES; k++) {
        TR_REG32(tr_clock_enables[k].reg) |= 1u << tr_clock_enables[k].bit;
        (void)TR_REG32(tr_clock_enables[k].reg);   /* read back: the clock is on before first use */
    }
#endif
#if TR_BOARD_N_PINS > 0
    for (unsigned k = 0; k < TR_BOARD_N_PINS; k++) {
        uint32_t g = tr_pins[k].gpio, p = tr_pins[k].pin;
        /* MODER +0x00: 2 bits per pin, 0b10 = alternate function; AFRL +0x20 / AFRH +0x24. */
        TR_REG32(g) = (TR_REG32(g) & ~(3u << (2u * p))) | (2u << (2u * p));
        uint32_t afr = g + 0x20u + 4u * (p / 8u);
        uint32_t sh = 4u * (p % 8u);
        TR_REG32(afr) = (TR_REG32(afr) & ~(0xFu << sh)) | (tr_pins[k].af << sh);
    }
#endif
}
