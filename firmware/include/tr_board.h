/* Board bring-up (clocks, pins) before the UART is used. */
#ifndef TR_BOARD_H
#define TR_BOARD_H
void tr_board_init(void);
#endif
