/* MBDP bench: run the generated module over an embedded Q31 signal, count SysTick ticks spent in
 * tr_mbdp_process_q31 (QEMU -icount shift=0: one instruction = 1 ns), print the totals and every
 * output sample in hex so the host can check it against the c-host build bit for bit. */
#include <stddef.h>
#include <stdint.h>

#include "bench_io.h"
#include "bench_signal.h"
#include "tr_mbdp.h"

static tr_mbdp_instance_q31 mbdp;
static int32_t out[BENCH_N];

int main(void)
{
    uint32_t ticks = 0;
    size_t i;
    bench_systick_start();
    tr_mbdp_init_q31(&mbdp);
    for (i = 0; i < BENCH_N; i += BENCH_CHUNK) {
        const size_t n = BENCH_N - i < BENCH_CHUNK ? BENCH_N - i : BENCH_CHUNK;
        const uint32_t t0 = bench_systick_now();
        tr_mbdp_process_q31(&mbdp, &bench_signal[i], &out[i], n);
        ticks += (bench_systick_now() - t0) & 0xFFFFFFu;
    }
    bench_puts("samples ");
    bench_put_u32(BENCH_N);
    bench_puts("\nticks ");
    bench_put_u32(ticks);
    bench_puts("\nout\n");
    for (i = 0; i < BENCH_N; i++) {
        bench_put_hex32((uint32_t)out[i]);
        bench_puts((i % 16u) == 15u ? "\n" : " ");
    }
    bench_puts("\nend\n");
    return 0;
}
