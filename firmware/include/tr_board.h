/* Board bring-up (clocks, pins) before the UART is used. */
#ifndef TR_BOARD_H
#define TR_BOARD_H
#include <stdint.h>
void tr_board_init(void);

/* Stack high-water mark: the startup code fills the unused stack with a pattern (tr_stack_paint),
   tr_stack_used_bytes() finds how deep it has ever been overwritten. */
void tr_stack_paint(void);
uint32_t tr_stack_used_bytes(void);
#endif
