/*
 * Kernel cross-check: the same pseudo-random cases through tunerig's CMSIS-NN subset and tr_nn
 * operators, built once for the host (portable C: the reference) and once per Cortex-M board
 * (DSP / Helium paths, run in QEMU). Each case's output bytes are hashed; codegen/nn/kernel_check.py
 * compares the hash lines. The cases aim at the optimised paths' edges: row counts around the
 * 4- and 6-row blocks and the 64-row chunks, column counts around the 8/16-column groups and the
 * 512-column slices, unaligned pointers, per-tensor/per-channel, with and without bias and kernel
 * sums, shifts of both signs, accumulators and shifts beyond the fast paths' ranges, clamped and
 * full output ranges, and elementwise parameter sets with
 * and without TFLite's exact 0.5 input rescale.
 *
 * Output lines: "<tag> <hash>" (compared), and on boards "cost <kernel> <instructions per unit
 * times 1000>" (SysTick under QEMU -icount shift=0; informational). Board builds define
 * TR_NN_CHECK_CLOCK_HZ.
 */
#include <stdint.h>
#include <string.h>

#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "tr_nn_ops.h"

#if defined(__arm__)
#include "tr_semihost.h" /* start-up and console: firmware/semihost */

static void put_line(const char *s)
{
    tr_semihost_puts(s); /* SYS_WRITE0: QEMU's stderr */
}

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#else
#include <stdio.h>
static void put_line(const char *s)
{
    fputs(s, stdout);
}
#endif

static void put_u(const char *tag, uint32_t v)
{
    char b[80];
    int32_t n = 0;
    while (*tag != '\0' && n < 60)
    {
        b[n++] = *tag++;
    }
    b[n++] = ' ';
    char t[12];
    int32_t k = 0;
    do
    {
        t[k++] = (char)('0' + (int32_t)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (k > 0)
    {
        b[n++] = t[--k];
    }
    b[n++] = '\n';
    b[n] = '\0';
    put_line(b);
}

static uint32_t s_rng = 12345u;

static uint32_t rnd(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 17;
    s_rng ^= s_rng << 5;
    return s_rng;
}

static int32_t rr(int32_t lo, int32_t hi)
{
    return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

static int32_t rmult(void)
{
    return (int32_t)(0x40000000u + (rnd() & 0x3FFFFFFFu));
}

static uint32_t hash(uint32_t h, const void *p, int32_t n)
{
    const uint8_t *b = p;
    for (int32_t i = 0; i < n; i++)
    {
        h = (h ^ b[i]) * 16777619u;
    }
    return h;
}

#define MAX_ROWS 400
#define MAX_COLS 600
static int8_t s_w[MAX_ROWS * MAX_COLS + 16] __attribute__((aligned(16)));
static int8_t s_x[MAX_COLS + 16] __attribute__((aligned(16)));
static int32_t s_bias[MAX_ROWS], s_ksum[MAX_ROWS], s_mult[MAX_ROWS], s_shift[MAX_ROWS];
static int8_t s_out[MAX_ROWS + 16];

/* One fully connected case; the weights end exactly at the end of what the kernel may read. */
static uint32_t fc_case(int32_t rows, int32_t cols, int32_t per_channel, int32_t use_bias, int32_t use_ksum,
                        int32_t woff, int32_t xoff, int32_t big, int32_t extreme)
{
    int8_t *w = s_w + woff;
    int8_t *x = s_x + xoff;
    for (int32_t i = 0; i < rows * cols; i++)
    {
        w[i] = (int8_t)rr(big ? -128 : -40, big ? 127 : 40);
    }
    for (int32_t i = 0; i < cols; i++)
    {
        x[i] = (int8_t)rr(-128, 127);
    }
    const int32_t in_off = rr(-127, 128);
    for (int32_t r = 0; r < rows; r++)
    {
        int32_t sum = 0;
        for (int32_t c = 0; c < cols; c++)
        {
            sum += w[r * cols + c];
        }
        s_ksum[r] = in_off * sum;
        s_bias[r] = rr(-30000, 30000) * (big ? 1 : 10);
        s_mult[r] = rmult();
        s_shift[r] = rr(-14, big ? 3 : -4);
        if (extreme)
        {
            /* around the DSP fast path's limits: |acc| near 2^28 and beyond (it must hand the
             * call to the general path), shifts down to -31 */
            const int32_t k = rr(0, 3);
            s_bias[r] = k == 0 ? (int32_t)rnd() : (k == 1 ? (1 << 28) - rr(0, 1 << 22) : -(1 << 28) + rr(0, 1 << 22));
            s_shift[r] = rr(-31, 1);
        }
    }
    cmsis_nn_context ctx = {use_ksum ? s_ksum : NULL, use_ksum ? rows * 4 : 0};
    const int32_t lo = (rnd() & 1) ? -128 : rr(-128, 0);
    const int32_t hi = lo == -128 ? 127 : rr(lo, 127);
    const int32_t out_off = rr(-128, 127);
    const cmsis_nn_fc_params fc = {in_off, 0, out_off, {lo, hi}};
    const cmsis_nn_dims in_dims = {1, 1, 1, cols}, f_dims = {cols, 1, 1, rows}, b_dims = {1, 1, 1, rows},
                        o_dims = {1, 1, 1, rows};
    memset(s_out, 0x55, sizeof(s_out));
    if (per_channel)
    {
        const cmsis_nn_per_channel_quant_params q = {s_mult, s_shift};
        (void)arm_fully_connected_per_channel_s8(&ctx, &fc, &q, &in_dims, x, &f_dims, w, &b_dims,
                                                 use_bias ? s_bias : NULL, &o_dims, s_out);
    }
    else
    {
        const cmsis_nn_per_tensor_quant_params q = {s_mult[0], s_shift[0]};
        (void)arm_fully_connected_s8(&ctx, &fc, &q, &in_dims, x, &f_dims, w, &b_dims, use_bias ? s_bias : NULL,
                                     &o_dims, s_out);
    }
    return hash(2166136261u, s_out, rows + 16);
}

static int8_t s_a[700], s_b[700], s_o[716];

/* One elementwise case: 0 ADD, 1 MUL, 2 SUB, 3 requantise, 4 table lookup. */
static uint32_t ew_case(int32_t kind, int32_t n, int32_t oa, int32_t ob, int32_t oo)
{
    int8_t *a = s_a + oa, *b = s_b + ob, *o = s_o + oo;
    for (int32_t i = 0; i < n; i++)
    {
        a[i] = (int8_t)rr(-128, 127);
        b[i] = (int8_t)rr(-128, 127);
    }
    memset(s_o, 0x55, sizeof(s_o));
    const int32_t off1 = rr(-127, 128);
    const int32_t off2 = rr(-127, 128);
    const int32_t out_off = rr(-128, 127);
    const int32_t lo = (rnd() & 1) ? -128 : rr(-128, 0);
    const int32_t hi = lo == -128 ? 127 : rr(lo, 127);
    if (kind == 0 || kind == 2)
    {
        int32_t m1 = rmult();
        int32_t s1 = rr(-6, 0);
        int32_t m2 = rmult();
        int32_t s2 = rr(-6, 0);
        if (rnd() & 1)
        {
            m1 = 1 << 30;
            s1 = 0;
        }
        else if (rnd() & 1)
        {
            m2 = 1 << 30;
            s2 = 0;
        }
        const int32_t mo = rmult();
        const int32_t so = (rnd() % 8 == 0) ? rr(-3, 2) : rr(-24, -12);
        const int32_t ls = (rnd() % 8 == 0) ? rr(0, 22) : 20;
        if (kind == 0)
        {
            (void)arm_elementwise_add_s8(a, b, off1, m1, s1, off2, m2, s2, ls, o, out_off, mo, so, lo, hi, n);
        }
        else
        {
            tr_nn_sub_s8(a, b, off1, m1, s1, off2, m2, s2, ls, o, out_off, mo, so, lo, hi, n);
        }
    }
    else if (kind == 1)
    {
        const int32_t mo = rmult();
        const int32_t so = (rnd() % 8 == 0) ? rr(-31, 14) : rr(-12, 0);
        (void)arm_elementwise_mul_s8(a, b, off1, off2, o, out_off, mo, so, lo, hi, n);
    }
    else if (kind == 3)
    {
        const int32_t mo = rmult();
        const int32_t so = rr(-24, 8);
        const int32_t zp = rr(-128, 127);
        tr_nn_requantize_s8(a, o, n, zp, mo, so, out_off);
    }
    else
    {
        static int8_t table[256];
        for (int32_t i = 0; i < 256; i++)
        {
            table[i] = (int8_t)rnd();
        }
        tr_nn_lut_s8(a, table, o, n);
    }
    return hash(2166136261u, s_o, (int32_t)sizeof(s_o));
}

/* The requantisation arithmetic itself, over edge values: reference vs the fast scalar form. */
static uint32_t requantize_cases(uint32_t *fast_mismatches)
{
    uint32_t h = 2166136261u;
    for (int32_t i = 0; i < 100000; i++)
    {
        int32_t acc;
        switch (i & 3)
        {
        case 0:
            acc = (int32_t)rnd();
            break;
        case 1:
            acc = rr(-(1 << 24), 1 << 24);
            break;
        case 2:
        {
            const int32_t sh = rr(0, 31);
            acc = (int32_t)(rnd() >> sh) * ((rnd() & 1) ? 1 : -1);
            break;
        }
        default:
        {
            const int32_t d = rr(0, 3);
            acc = (rnd() & 1) ? INT32_MIN + d : INT32_MAX - d;
            break;
        }
        }
        int32_t m = rmult();
        if ((i & 15) == 0)
        {
            m = 1 << 30;
        }
        if ((i & 31) == 1)
        {
            m = INT32_MAX;
        }
        if ((i & 63) == 2)
        {
            m = INT32_MIN;
        }
        const int32_t s = rr(-31, 8);
        const int32_t r = tr_nn_requantize(acc, m, s);
        if (tr_nn_requantize_fast(acc, m, s) != r)
        {
            (*fast_mismatches)++;
        }
        h = hash(h, &r, 4);
    }
    return h;
}

#if defined(__arm__)
static uint32_t cost_x1000(uint32_t t0, uint32_t t1, uint32_t reps, uint32_t units)
{
    /* instructions = ticks * 1e9 / clock under -icount shift=0 */
    const uint64_t ticks = (t0 - t1) & 0xFFFFFFu;
    return (uint32_t)(ticks * 1000000000000ull / TR_NN_CHECK_CLOCK_HZ / reps / units);
}

/* Instructions per MAC of a per-channel fully connected layer (4 runs on data set up by fc_case). */
static void fc_cost(const char *label, int32_t rows, int32_t cols, int32_t input_offset, int32_t output_offset)
{
    (void)fc_case(rows, cols, 1, 1, 1, 0, 0, 0, 0);
    const cmsis_nn_context ctx = {s_ksum, rows * 4};
    const cmsis_nn_fc_params fc = {input_offset, 0, output_offset, {-128, 127}};
    const cmsis_nn_dims in_dims = {1, 1, 1, cols}, f_dims = {cols, 1, 1, rows}, b_dims = {1, 1, 1, rows},
                        o_dims = {1, 1, 1, rows};
    const cmsis_nn_per_channel_quant_params q = {s_mult, s_shift};
    const uint32_t t0 = SYST_CVR;
    for (int32_t rep = 0; rep < 4; rep++)
    {
        (void)arm_fully_connected_per_channel_s8(&ctx, &fc, &q, &in_dims, s_x, &f_dims, s_w, &b_dims, s_bias,
                                                 &o_dims, s_out);
    }
    put_u(label, cost_x1000(t0, SYST_CVR, 4, (uint32_t)(rows * cols)));
}
#endif

int main(void)
{
    uint32_t fast_bad = 0;
    put_u("requantize", requantize_cases(&fast_bad));
    put_u("requantize_fast_mismatches", fast_bad);
    uint32_t h = 2166136261u;
    for (int32_t t = 0; t < 1600; t++)
    {
        int32_t rows = rr(1, 13);
        int32_t cols = rr(1, 48);
        if (t % 40 == 0)
        {
            rows = rr(1, 40);
            cols = rr(100, MAX_COLS);
        }
        else if (t % 40 == 1)
        {
            rows = rr(60, 140);
            cols = rr(1, 80);
        }
        const int32_t per_channel = (int32_t)(rnd() & 1);
        const int32_t use_bias = (rnd() & 3) != 0;
        const int32_t use_ksum = (rnd() & 3) != 0;
        const int32_t woff = rr(0, 3);
        const int32_t xoff = rr(0, 3);
        const uint32_t v = fc_case(rows, cols, per_channel, use_bias, use_ksum, woff, xoff, t & 1, t % 16 == 5);
        h = hash(h, &v, 4);
        if (t % 100 == 99)
        {
            put_u("fully_connected", h);
        }
    }
    /* long matrices without bias (the DSP fast path reads zeros in chunks of rows) and rows 2 mod 4
     * bytes long (its phase-split form), both quantisations, clamped and full range */
    for (int32_t t = 0; t < 48; t++)
    {
        static const int32_t shapes[6][2] = {{100, 70}, {200, 198}, {97, 166}, {193, 64}, {131, 6}, {96, 10}};
        const uint32_t v = fc_case(shapes[t % 6][0], shapes[t % 6][1], (t >> 1) & 1, (t % 12) >= 6 ? 1 : 0,
                                   t & 1, (t % 24) >= 12 ? 2 : 0, 0, t & 1, 0);
        h = hash(h, &v, 4);
        if (t % 24 == 23)
        {
            put_u("fully_connected_long", h);
        }
    }
    for (int32_t t = 0; t < 2000; t++)
    {
        const int32_t n = rr(1, 70) + ((t % 40 == 0) ? 600 : 0);
        const int32_t oa = rr(0, 3);
        const int32_t ob = rr(0, 3);
        const int32_t oo = rr(0, 3);
        const uint32_t v = ew_case(t % 5, n, oa, ob, oo);
        h = hash(h, &v, 4);
        if (t % 200 == 199)
        {
            put_u("elementwise", h);
        }
    }
#if defined(__arm__)
    /* informational costs: a PercepNet-sized per-channel layer, and GRU-gate elementwise calls */
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0u;
    SYST_CSR = 0x5u;
    fc_cost("cost fully_connected_384x128_per_mac", 384, 128, 5, -3);
    /* rows 198 bytes apart: not word aligned (the PercepNet front layer's shape) */
    fc_cost("cost fully_connected_112x198_per_mac", 112, 198, -47, 2);
    {
        uint32_t t0 = SYST_CVR;
        for (int32_t rep = 0; rep < 10; rep++)
        {
            (void)arm_elementwise_add_s8(s_a, s_b, 5, 1 << 30, 0, -3, 1620943096, -2, 20, s_o, -2, 1084837066, -18,
                                         -128, 127, 128);
        }
        put_u("cost add_per_element", cost_x1000(t0, SYST_CVR, 10, 128));
        t0 = SYST_CVR;
        for (int32_t rep = 0; rep < 10; rep++)
        {
            (void)arm_elementwise_mul_s8(s_a, s_b, 128, 0, s_o, 2, 1493306483, -7, -128, 127, 128);
        }
        put_u("cost mul_per_element", cost_x1000(t0, SYST_CVR, 10, 128));
        t0 = SYST_CVR;
        for (int32_t rep = 0; rep < 10; rep++)
        {
            tr_nn_lut_s8(s_a, s_b, s_o, 128);
        }
        put_u("cost lut_per_element", cost_x1000(t0, SYST_CVR, 10, 128));
        t0 = SYST_CVR;
        for (int32_t rep = 0; rep < 10; rep++)
        {
            tr_nn_requantize_s8(s_a, s_o, 128, -4, 2103824997, 2, -1);
        }
        put_u("cost requantize_per_element", cost_x1000(t0, SYST_CVR, 10, 128));
    }
#endif
    put_line("done\n");
    return 0;
}
