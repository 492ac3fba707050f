/*
 * The int8 matrix-vector product behind both fully connected kernels.
 *
 * acc[r] = bias[r] + sum_c (lhs[c] + lhs_offset) * rhs[r][c], then TFLite requantisation
 * (tr_nn_math.h), + dst_offset, clamp. Integer arithmetic is exact, so the three code paths below
 * give identical results (python -m codegen.nn.kernel_check cross-checks them); they differ only
 * in speed (instructions per MAC in the inner loops, QEMU -icount):
 *  - portable C;
 *  - ARM_MATH_DSP (Cortex-M4/M7/M33): the input, plus its offset, is widened once per call into a
 *    stack buffer of int16 pairs in SMLAD lane order (so no kernel sums are needed). Most rows go
 *    through arm_nn_vec_mat_mult_t_s8_tr_rows3.c: 3-row blocks, LDRD weights, 8-column groups
 *    unrolled (1.17 instructions per MAC), requantised in registers; rows 2 mod 4 bytes long run as
 *    even and odd rows against the input and a copy moved by 2 columns; 1-2 rows left over run as
 *    one overlapping block when the columns are a multiple of 8. What it cannot take (no bias,
 *    more than 512 columns, accumulators or shifts outside its range, the last rows otherwise)
 *    runs here: blocks of 6 rows (4 for the last rows) sharing each input load (1.33 per MAC),
 *    int32 sums requantised with the 32-bit SMMULR form.
 *    Stack: about 1.7 KB at most (TR_NN_DSP_COLS / 2 + 4 words of input, TR_NN_DSP_ROWS sums,
 *    the fast path's frames; gcc -fstack-usage).
 *  - ARM_MATH_MVEI (Helium, Cortex-M55): blocks of 4 rows, 16 columns per VMLADAVA in one
 *    tail-predicated DLSTP/LETP loop (0.16 instructions per MAC); the input offset comes in
 *    through kernel_sum (input_offset * row sum, precomputed by the generator, or computed here
 *    with VADDVA when NULL); sums requantised 4 lanes at a time (VQRDMULH/VRSHL).
 */
#include <string.h>

#include "arm_nnsupportfunctions.h"

#if defined(ARM_MATH_MVEI)
#include <arm_mve.h>
#elif defined(ARM_MATH_DSP)
#include <arm_acle.h>
#endif

static inline int8_t requantize_out(int32_t acc, int32_t mult, int32_t shift, int32_t dst_offset,
                                    int32_t act_min, int32_t act_max)
{
    int32_t v = arm_nn_requantize(acc, mult, shift) + dst_offset;
    return (int8_t)arm_nn_clamp(v, act_min, act_max);
}

#if defined(ARM_MATH_DSP) && !defined(ARM_MATH_MVEI)
static inline int32_t read_s8x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4); /* single LDR: unaligned word loads are allowed on Cortex-M4 normal memory */
    return v;
}

/* Sign-extend bytes 1 and 3 into two int16 lanes: SXTB16 with its ROR #8 operand, one instruction.
 * ACLE's __sxtb16 has no rotate form and gcc 12 does not fold a separate rotate into it. */
static inline uint32_t sxtb16_ror8(uint32_t x)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* Columns the DSP path widens into its stack buffer at once (2 bytes each); wider layers are
 * processed in slices of this many columns. A multiple of 8. */
#define TR_NN_DSP_COLS 512
/* Ends the widened input: a lane value (-32768) that x + offset in [-255, 255] never takes, and a
 * Thumb-2 modified immediate, so the inner loop stops on CMP with no end pointer register. */
#define TR_NN_DSP_SENTINEL 0x80008000u

/*
 * Widen lhs[0..n) + offset to int16 in SMLAD lane order: per 4 columns, word 2k = (x0, x2) and word
 * 2k+1 = (x1, x3), the same pairing SXTB16 / SXTB16 ROR #8 give for 4 weight bytes. Columns from n
 * up to the next multiple of 8 are 0 (so reading weights past a row's end there adds nothing); the
 * sentinel follows.
 */
static void widen_input(const int8_t *lhs, int32_t n, int32_t offset, uint32_t *x16)
{
    const uint32_t off2 = ((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16);
    int32_t c = 0;
    if (n >= 8)
    {
        /* 8 columns per turn: two (unaligned) word loads, 4 SXTB16, 4 SADD16 (none when the
         * offset is 0), two STRD */
        const int8_t *end = lhs + (n & ~7);
        const int8_t *src = lhs;
        uint32_t v0, v1, a, b;
        if (offset != 0)
        {
            __asm__ volatile("1:\n\t"
                             "ldr    %[v0], [%[s]], #4\n\t"
                             "ldr    %[v1], [%[s]], #4\n\t"
                             "sxtb16 %[a], %[v0]\n\t"          /* (x0, x2) */
                             "sxtb16 %[b], %[v0], ror #8\n\t"  /* (x1, x3) */
                             "sadd16 %[a], %[a], %[o]\n\t"
                             "sadd16 %[b], %[b], %[o]\n\t"
                             "strd   %[a], %[b], [%[d]], #8\n\t"
                             "sxtb16 %[a], %[v1]\n\t"          /* (x4, x6) */
                             "sxtb16 %[b], %[v1], ror #8\n\t"  /* (x5, x7) */
                             "sadd16 %[a], %[a], %[o]\n\t"
                             "sadd16 %[b], %[b], %[o]\n\t"
                             "strd   %[a], %[b], [%[d]], #8\n\t"
                             "cmp    %[s], %[e]\n\t"
                             "bne    1b\n"
                             : [s] "+r"(src), [d] "+r"(x16), [v0] "=&r"(v0), [v1] "=&r"(v1), [a] "=&r"(a),
                               [b] "=&r"(b)
                             : [e] "r"(end), [o] "r"(off2)
                             : "cc", "memory");
        }
        else
        {
            __asm__ volatile("1:\n\t"
                             "ldr    %[v0], [%[s]], #4\n\t"
                             "ldr    %[v1], [%[s]], #4\n\t"
                             "sxtb16 %[a], %[v0]\n\t"
                             "sxtb16 %[b], %[v0], ror #8\n\t"
                             "strd   %[a], %[b], [%[d]], #8\n\t"
                             "sxtb16 %[a], %[v1]\n\t"
                             "sxtb16 %[b], %[v1], ror #8\n\t"
                             "strd   %[a], %[b], [%[d]], #8\n\t"
                             "cmp    %[s], %[e]\n\t"
                             "bne    1b\n"
                             : [s] "+r"(src), [d] "+r"(x16), [v0] "=&r"(v0), [v1] "=&r"(v1), [a] "=&r"(a),
                               [b] "=&r"(b)
                             : [e] "r"(end)
                             : "cc", "memory");
        }
        c = n & ~7;
    }
    for (; c + 4 <= n; c += 4)
    {
        const uint32_t v = (uint32_t)read_s8x4(lhs + c);
        *x16++ = __sadd16(__sxtb16(v), off2);
        *x16++ = __sadd16(sxtb16_ror8(v), off2);
    }
    for (; c < ((n + 7) & ~7); c += 4)
    {
        int32_t x[4];
        for (int32_t k = 0; k < 4; k++)
        {
            x[k] = c + k < n ? lhs[c + k] + offset : 0;
        }
        *x16++ = ((uint32_t)x[0] & 0xFFFFu) | ((uint32_t)x[2] << 16);
        *x16++ = ((uint32_t)x[1] & 0xFFFFu) | ((uint32_t)x[3] << 16);
    }
    *x16 = TR_NN_DSP_SENTINEL;
}

/*
 * acc[i] += sum over 8-column groups of widened input x16 times the int8 weights of row i, for the
 * 4 rows p0, p0 + stride, p2, p2 + stride, until the sentinel; at least one group must precede it.
 * Per 8 columns and 4 rows (32 MACs): 2 LDRD (input, shared by the rows), 8 LDR (weights),
 * 16 SXTB16, 16 SMLAD, CMP + BNE: 1.375 instructions per MAC. Written in assembly because gcc 12
 * spills the 12 live registers of this loop to the stack.
 */
static inline __attribute__((always_inline)) void mac_4rows(const uint32_t *x16, const int8_t *p0, const int8_t *p2,
                                                            int32_t stride, int32_t acc[4])
{
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    uint32_t xe, xo, w, t;
#define TR_NN_MAC_HALF                                                                                             \
    "ldr    %[w], [%[p0], %[s]]\n\t"                                                                             \
    "sxtb16 %[t], %[w]\n\t"                                                                                      \
    "smlad  %[a1], %[t], %[xe], %[a1]\n\t"                                                                       \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                                              \
    "smlad  %[a1], %[w], %[xo], %[a1]\n\t"                                                                       \
    "ldr    %[w], [%[p2], %[s]]\n\t"                                                                             \
    "sxtb16 %[t], %[w]\n\t"                                                                                      \
    "smlad  %[a3], %[t], %[xe], %[a3]\n\t"                                                                       \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                                              \
    "smlad  %[a3], %[w], %[xo], %[a3]\n\t"                                                                       \
    "ldr    %[w], [%[p0]], #4\n\t"                                                                               \
    "sxtb16 %[t], %[w]\n\t"                                                                                      \
    "smlad  %[a0], %[t], %[xe], %[a0]\n\t"                                                                       \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                                              \
    "smlad  %[a0], %[w], %[xo], %[a0]\n\t"                                                                       \
    "ldr    %[w], [%[p2]], #4\n\t"                                                                               \
    "sxtb16 %[t], %[w]\n\t"                                                                                      \
    "smlad  %[a2], %[t], %[xe], %[a2]\n\t"                                                                       \
    "sxtb16 %[w], %[w], ror #8\n\t"                                                                              \
    "smlad  %[a2], %[w], %[xo], %[a2]\n\t"                                                                       \
    "ldrd   %[xe], %[xo], [%[x]], #8\n\t"
    __asm__ volatile("ldrd   %[xe], %[xo], [%[x]], #8\n"
                     "1:\n\t" TR_NN_MAC_HALF TR_NN_MAC_HALF
                     "cmp    %[xe], #0x80008000\n\t"
                     "bne    1b\n"
                     : [x] "+r"(x16), [p0] "+r"(p0), [p2] "+r"(p2), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),
                       [a3] "+r"(a3), [xe] "=&r"(xe), [xo] "=&r"(xo), [w] "=&r"(w), [t] "=&r"(t)
                     : [s] "r"(stride)
                     : "cc", "memory");
#undef TR_NN_MAC_HALF
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Arguments of mac_6rows_blocks (one pointer keeps the naked function's interface simple). */
typedef struct
{
    const uint32_t *x16; /* widened input, sentinel-terminated, at least one 8-column group */
    const int8_t *rhs;   /* first row of the first block */
    int32_t cols;        /* distance between rows */
    int32_t blocks;      /* number of 6-row blocks, >= 1 */
    int32_t *sums;       /* 6 * blocks running sums, added to */
} tr_nn_mac6_args;

/*
 * Consecutive blocks of 6 rows: sums[6b + i] += widened input . row (6b + i), for every 8-column
 * group before the sentinel (which, as in mac_4rows, must not cut into a row's end where reading
 * on would leave the weights: the caller passes only blocks followed by another row, or exact
 * column counts). Rows are addressed from two bases with a register offset (p0, p0 + s,
 * p0 + 2s; p3, p3 + s, p3 + 2s), so the loop needs 14 registers: r0 x16, r1 p0, r2 p3, r3 s,
 * r4-r9 sums, r10/r11 input pair, r12 weights, lr temporary. Per 8 columns and 6 rows (48 MACs):
 * 2 LDRD, 12 LDR, 24 SXTB16, 24 SMLAD, CMP + BNE: 1.33 instructions per MAC. The block loop keeps
 * its state on the stack. Naked: gcc cannot allocate 14 registers to an asm statement.
 */
__attribute__((naked, noinline)) static void mac_6rows_blocks(const tr_nn_mac6_args *args __attribute__((unused)))
{
#define TR_NN_MAC6_ROW(ld, acc)                                                                                     \
    "ldr    r12, " ld "\n\t"                                                                                    \
    "sxtb16 lr, r12\n\t"                                                                                         \
    "smlad  " acc ", lr, r10, " acc "\n\t"                                                                       \
    "sxtb16 r12, r12, ror #8\n\t"                                                                                \
    "smlad  " acc ", r12, r11, " acc "\n\t"
#define TR_NN_MAC6_HALF                                                                                             \
    TR_NN_MAC6_ROW("[r1, r3]", "r5")                                                                                \
    TR_NN_MAC6_ROW("[r1, r3, lsl #1]", "r6")                                                                        \
    TR_NN_MAC6_ROW("[r2, r3]", "r8")                                                                                \
    TR_NN_MAC6_ROW("[r2, r3, lsl #1]", "r9")                                                                        \
    TR_NN_MAC6_ROW("[r1], #4", "r4")                                                                                \
    TR_NN_MAC6_ROW("[r2], #4", "r7")                                                                                \
    "ldrd   r10, r11, [r0], #8\n\t"
    __asm__ volatile("push   {r4-r11, lr}\n\t"
                     "sub    sp, sp, #24\n\t"
                     "ldr    r1, [r0, #0]\n\t"  /* sp+0: x16 */
                     "str    r1, [sp, #0]\n\t"
                     "ldr    r1, [r0, #8]\n\t"  /* sp+4: cols */
                     "str    r1, [sp, #4]\n\t"
                     "ldr    r1, [r0, #12]\n\t" /* sp+8: blocks left */
                     "str    r1, [sp, #8]\n\t"
                     "ldr    r1, [r0, #16]\n\t" /* sp+12: sums */
                     "str    r1, [sp, #12]\n\t"
                     "ldr    r1, [r0, #4]\n\t"  /* sp+16: first row of the block */
                     "str    r1, [sp, #16]\n"
                     "2:\n\t"
                     "ldr    r0, [sp, #0]\n\t"
                     "ldr    r3, [sp, #4]\n\t"
                     "ldr    r1, [sp, #16]\n\t"
                     "add    r2, r3, r3, lsl #1\n\t"
                     "add    r2, r1, r2\n\t"
                     "ldr    r12, [sp, #12]\n\t"
                     "ldm    r12, {r4-r9}\n\t"
                     "ldrd   r10, r11, [r0], #8\n"
                     "1:\n\t" TR_NN_MAC6_HALF TR_NN_MAC6_HALF
                     "cmp    r10, #0x80008000\n\t"
                     "bne    1b\n\t"
                     "ldr    r12, [sp, #12]\n\t"
                     "stmia  r12!, {r4-r9}\n\t"
                     "str    r12, [sp, #12]\n\t"
                     "ldr    r1, [sp, #16]\n\t"
                     "ldr    r3, [sp, #4]\n\t"
                     "add    r3, r3, r3, lsl #1\n\t"
                     "add    r1, r1, r3, lsl #1\n\t"
                     "str    r1, [sp, #16]\n\t"
                     "ldr    r3, [sp, #8]\n\t"
                     "subs   r3, r3, #1\n\t"
                     "str    r3, [sp, #8]\n\t"
                     "bne    2b\n\t"
                     "add    sp, sp, #24\n\t"
                     "pop    {r4-r11, pc}\n");
#undef TR_NN_MAC6_HALF
#undef TR_NN_MAC6_ROW
}

/* Rows whose int32 sums the DSP path keeps on the stack before requantising them together. */
#define TR_NN_DSP_ROWS 64

/*
 * sums[r] += sum over columns [0, n) of x16 times rhs[r][.] for rows [0, rows), rhs rows rhs_cols
 * apart (the widened input x16 holds the same n columns). Blocks of 4 rows share each input load. A
 * block whose zero-padded 8-column groups could read past the end of the weights (the block with
 * the matrix's last row, when at_end) stops at its last whole group and finishes in C. A last block
 * of 1 to 3 rows repeats rows; the repeated sums are dropped.
 */
static void dsp_accumulate(uint32_t *x16, const int8_t *lhs, int32_t lhs_offset, const int8_t *rhs,
                           int32_t rhs_cols, int32_t rows, int32_t n, int32_t at_end, int32_t *sums)
{
    const int32_t whole = n >> 3; /* complete 8-column groups */
    const int32_t padded = (n + 7) >> 3;
    int32_t row = 0;
    /* 6-row blocks while a row follows the block (or the columns are exact) */
    const int32_t blocks6 = (padded == whole || !at_end) ? rows / 6 : (rows - 1) / 6;
    if (blocks6 > 0 && n > 0)
    {
        const tr_nn_mac6_args args = {x16, rhs, rhs_cols, blocks6, sums};
        mac_6rows_blocks(&args);
        row = 6 * blocks6;
    }
    const int32_t safe_rows = (padded == whole || !at_end) ? rows : row + ((rows - 1 - row) & ~3);
    for (; row + 4 <= safe_rows; row += 4)
    {
        const int8_t *p0 = rhs + row * rhs_cols;
        mac_4rows(x16, p0, p0 + 2 * rhs_cols, rhs_cols, sums + row);
    }
    if (row == rows)
    {
        return;
    }
    /* last block: 1 to 4 rows, repeated to 4; exact column count when at the end of the weights */
    const int32_t left = rows - row;
    const int8_t *p0 = rhs + row * rhs_cols;
    const int32_t stride = left == 1 ? 0 : rhs_cols;
    const int8_t *p2 = left == 4 ? p0 + 2 * rhs_cols : (left == 3 ? p0 + rhs_cols : p0);
    int32_t acc[4] = {0, 0, 0, 0};
    if (safe_rows == rows)
    {
        mac_4rows(x16, p0, p2, stride, acc);
    }
    else
    {
        if (whole > 0)
        {
            const uint32_t saved = x16[whole * 4];
            x16[whole * 4] = TR_NN_DSP_SENTINEL;
            mac_4rows(x16, p0, p2, stride, acc);
            x16[whole * 4] = saved;
        }
        const int8_t *rp[4] = {p0, p0 + stride, p2, p2 + stride};
        for (int32_t c = whole * 8; c < n; c++)
        {
            const int32_t in = lhs[c] + lhs_offset;
            for (int32_t i = 0; i < 4; i++)
            {
                acc[i] += in * rp[i][c];
            }
        }
    }
    static const uint8_t pick[4][4] = {{0, 0, 0, 0}, {0, 1, 0, 0}, {0, 1, 3, 0}, {0, 1, 2, 3}};
    for (int32_t i = 0; i < left; i++)
    {
        sums[row + i] += acc[pick[left - 1][i]];
    }
}

/*
 * dst[r] = clamp(requantize(sums[r]) + dst_offset), r in [0, rows) (sums already hold the bias).
 * The common case (TR_NN_SMALL sum, TR_NN_FAST_OK shift) is tr_nn_rq_small's arithmetic, inlined
 * into loops specialised for per-channel / per-tensor and full / clamped output range; anything
 * else takes arm_nn_requantize.
 */
static inline __attribute__((always_inline)) void dsp_requantize_loop(const int32_t *sums, int32_t rows,
                                                                       const int32_t *multipliers,
                                                                       const int32_t *shifts, const int32_t pc,
                                                                       const int32_t full, int32_t dst_offset,
                                                                       int32_t act_min, int32_t act_max, int8_t *dst)
{
    const int32_t m0 = multipliers[0], sh0 = shifts[0]; /* read once: the int8 stores may alias them */
    for (int32_t r = 0; r < rows; r++)
    {
        const int32_t v = sums[r];
        const int32_t m = pc ? multipliers[r] : m0, sh = pc ? shifts[r] : sh0;
        int32_t q;
        if (TR_NN_FAST_OK(sh) && TR_NN_SMALL(v))
        {
            q = tr_nn_rq_small(tr_nn_rq_init(m, sh), v);
        }
        else
        {
            q = arm_nn_requantize(v, m, sh);
        }
        q += dst_offset;
        dst[r] = (int8_t)(full ? __ssat(q, 8) : arm_nn_clamp(q, act_min, act_max));
    }
}

static void dsp_requantize(const int32_t *sums, int32_t rows, const int32_t *multipliers, const int32_t *shifts,
                           int32_t per_channel, int32_t dst_offset, int32_t act_min, int32_t act_max, int8_t *dst)
{
    const int32_t full = act_min == -128 && act_max == 127;
    if (per_channel)
    {
        if (full)
        {
            dsp_requantize_loop(sums, rows, multipliers, shifts, 1, 1, dst_offset, act_min, act_max, dst);
        }
        else
        {
            dsp_requantize_loop(sums, rows, multipliers, shifts, 1, 0, dst_offset, act_min, act_max, dst);
        }
    }
    else if (full)
    {
        dsp_requantize_loop(sums, rows, multipliers, shifts, 0, 1, dst_offset, act_min, act_max, dst);
    }
    else
    {
        dsp_requantize_loop(sums, rows, multipliers, shifts, 0, 0, dst_offset, act_min, act_max, dst);
    }
}
#endif

#if defined(ARM_MATH_MVEI)
/*
 * Helium: sums of 4 rows w0..w3 against the int8 input, 16 columns per VMLADAVA, the input vector
 * shared by the rows; a predicated step takes the last 1..15 columns (inactive lanes load zero and
 * touch no memory). With row_sums (a compile-time constant), also the plain sum of each row (for
 * the input offset when no kernel sums were given).
 */
static inline __attribute__((always_inline)) void mve_4rows_body(const int8_t *x, const int8_t *w0, const int8_t *w1,
                                                                 const int8_t *w2, const int8_t *w3, int32_t cols,
                                                                 int32_t *acc, int32_t *wsum, const int32_t row_sums)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int32_t k = cols >> 4; k > 0; k--)
    {
        const int8x16_t xv = vldrbq_s8(x);
        const int8x16_t v0 = vldrbq_s8(w0), v1 = vldrbq_s8(w1), v2 = vldrbq_s8(w2), v3 = vldrbq_s8(w3);
        a0 = vmladavaq_s8(a0, xv, v0);
        a1 = vmladavaq_s8(a1, xv, v1);
        a2 = vmladavaq_s8(a2, xv, v2);
        a3 = vmladavaq_s8(a3, xv, v3);
        if (row_sums)
        {
            s0 = vaddvaq_s8(s0, v0);
            s1 = vaddvaq_s8(s1, v1);
            s2 = vaddvaq_s8(s2, v2);
            s3 = vaddvaq_s8(s3, v3);
        }
        x += 16;
        w0 += 16;
        w1 += 16;
        w2 += 16;
        w3 += 16;
    }
    if ((cols & 15) != 0)
    {
        const mve_pred16_t p = vctp8q((uint32_t)(cols & 15));
        const int8x16_t xv = vldrbq_z_s8(x, p);
        const int8x16_t v0 = vldrbq_z_s8(w0, p), v1 = vldrbq_z_s8(w1, p), v2 = vldrbq_z_s8(w2, p),
                        v3 = vldrbq_z_s8(w3, p);
        a0 = vmladavaq_s8(a0, xv, v0);
        a1 = vmladavaq_s8(a1, xv, v1);
        a2 = vmladavaq_s8(a2, xv, v2);
        a3 = vmladavaq_s8(a3, xv, v3);
        if (row_sums)
        {
            s0 = vaddvaq_s8(s0, v0);
            s1 = vaddvaq_s8(s1, v1);
            s2 = vaddvaq_s8(s2, v2);
            s3 = vaddvaq_s8(s3, v3);
        }
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
    if (row_sums)
    {
        wsum[0] = s0;
        wsum[1] = s1;
        wsum[2] = s2;
        wsum[3] = s3;
    }
}

/*
 * The same without row sums, as one tail-predicated low-overhead loop (DLSTP/LETP: the last
 * iteration's inactive lanes load zero and are not accumulated): per 16 columns 5 VLDRB,
 * 4 VMLADAVA and the LETP, with no separate tail step. Written in assembly because gcc 12 neither
 * emits DLSTP/LETP from intrinsics nor keeps the 9 live registers out of the stack.
 */
static inline __attribute__((always_inline)) void mve_4rows(const int8_t *x, const int8_t *w0, const int8_t *w1,
                                                           const int8_t *w2, const int8_t *w3, int32_t cols,
                                                           int32_t *acc)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    __asm__ volatile("dlstp.8  lr, %[n]\n"
                     "1:\n\t"
                     "vldrb.8  q0, [%[x]], #16\n\t"
                     "vldrb.8  q1, [%[w0]], #16\n\t"
                     "vmladava.s8 %[a0], q0, q1\n\t"
                     "vldrb.8  q2, [%[w1]], #16\n\t"
                     "vmladava.s8 %[a1], q0, q2\n\t"
                     "vldrb.8  q3, [%[w2]], #16\n\t"
                     "vmladava.s8 %[a2], q0, q3\n\t"
                     "vldrb.8  q1, [%[w3]], #16\n\t"
                     "vmladava.s8 %[a3], q0, q1\n\t"
                     "letp     lr, 1b\n"
                     : [x] "+r"(x), [w0] "+r"(w0), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3), [a0] "+Te"(a0),
                       [a1] "+Te"(a1), [a2] "+Te"(a2), [a3] "+Te"(a3)
                     : [n] "r"(cols)
                     : "q0", "q1", "q2", "q3", "lr", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

static __attribute__((noinline)) void mve_4rows_sums(const int8_t *x, const int8_t *w0, const int8_t *w1,
                                                     const int8_t *w2, const int8_t *w3, int32_t cols, int32_t *acc,
                                                     int32_t *wsum)
{
    mve_4rows_body(x, w0, w1, w2, w3, cols, acc, wsum, 1);
}

/* Arguments of mve_4rows_blocks. */
typedef struct
{
    const int8_t *x;   /* input */
    const int8_t *rhs; /* first row of the first block */
    int32_t cols;      /* columns = distance between rows, >= 1 */
    int32_t blocks;    /* number of 4-row blocks, >= 1 */
    int32_t *sums;     /* 4 * blocks sums, written */
} tr_nn_mve4_args;

/*
 * Consecutive blocks of 4 rows, each the DLSTP/LETP loop of mve_4rows, with the block loop in
 * assembly too (gcc spends some 30 instructions per block on moving pointers through the stack):
 * r0/r2/r4/r6 sums (VMLADAVA wants even registers), r1 input, r3/r5/r7/r8 rows, r9 columns,
 * r10 blocks left, r11 output, r12 next block, lr loop count.
 */
__attribute__((naked, noinline)) static void mve_4rows_blocks(const tr_nn_mve4_args *args __attribute__((unused)))
{
    __asm__ volatile("push   {r4-r11, lr}\n\t"
                     "sub    sp, sp, #8\n\t"
                     "ldr    r1, [r0, #0]\n\t"
                     "str    r1, [sp, #0]\n\t"
                     "ldr    r12, [r0, #4]\n\t"
                     "ldr    r9, [r0, #8]\n\t"
                     "ldr    r10, [r0, #12]\n\t"
                     "ldr    r11, [r0, #16]\n"
                     "2:\n\t"
                     "ldr    r1, [sp, #0]\n\t"
                     "mov    r3, r12\n\t"
                     "add    r5, r3, r9\n\t"
                     "add    r7, r5, r9\n\t"
                     "add    r8, r7, r9\n\t"
                     "add    r12, r8, r9\n\t"
                     "movs   r0, #0\n\t"
                     "movs   r2, #0\n\t"
                     "movs   r4, #0\n\t"
                     "movs   r6, #0\n\t"
                     "dlstp.8 lr, r9\n"
                     "1:\n\t"
                     "vldrb.8 q0, [r1], #16\n\t"
                     "vldrb.8 q1, [r3], #16\n\t"
                     "vmladava.s8 r0, q0, q1\n\t"
                     "vldrb.8 q2, [r5], #16\n\t"
                     "vmladava.s8 r2, q0, q2\n\t"
                     "vldrb.8 q3, [r7], #16\n\t"
                     "vmladava.s8 r4, q0, q3\n\t"
                     "vldrb.8 q1, [r8], #16\n\t"
                     "vmladava.s8 r6, q0, q1\n\t"
                     "letp   lr, 1b\n\t"
                     "stmia  r11!, {r0, r2, r4, r6}\n\t"
                     "subs   r10, r10, #1\n\t"
                     "bne    2b\n\t"
                     "add    sp, sp, #8\n\t"
                     "pop    {r4-r11, pc}\n");
}

/* Rows whose sums the Helium path collects before requantising them 4 lanes at a time. */
#define TR_NN_MVE_ROWS 64

/* One step of mve_requantize: 4 sums (+ kernel sums, bias), requantised, offset, clamped, stored.
 * The flags are compile-time constants in every caller. */
static inline __attribute__((always_inline)) void mve_requantize_4(int32x4_t v, const int32_t *kernel_sum,
                                                                   const int32_t *bias, const int32_t *multipliers,
                                                                   const int32_t *shifts, const int32_t pc,
                                                                   const int32_t has_ks, const int32_t has_bias,
                                                                   const int32_t mult0, const int32_t left0,
                                                                   const int32x4_t neg0, const int32_t dst_offset,
                                                                   const int32x4_t lo, const int32x4_t hi,
                                                                   int8_t *dst, const mve_pred16_t p,
                                                                   const int32_t tail)
{
    const int32x4_t vzero = vdupq_n_s32(0);
#define TR_NN_LD(ptr) (tail ? vldrwq_z_s32(ptr, p) : vldrwq_s32(ptr))
    if (has_ks)
    {
        v = vaddq_s32(v, TR_NN_LD(kernel_sum));
    }
    if (has_bias)
    {
        v = vaddq_s32(v, TR_NN_LD(bias));
    }
    if (pc)
    {
        const int32x4_t sh = TR_NN_LD(shifts);
        const int32x4_t neg = vminq_s32(sh, vzero);
        v = vshlq_s32(v, vmaxq_s32(sh, vzero));
        v = vqrdmulhq_s32(v, TR_NN_LD(multipliers));
        v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, neg), 31));
        v = vrshlq_s32(v, neg);
    }
    else
    {
        v = tr_nn_requantize_x4(v, mult0, left0, neg0);
    }
#undef TR_NN_LD
    v = vminq_s32(vmaxq_s32(vaddq_n_s32(v, dst_offset), lo), hi);
    if (tail)
    {
        vstrbq_p_s32(dst, v, p);
    }
    else
    {
        vstrbq_s32(dst, v);
    }
}

static inline __attribute__((always_inline)) void mve_requantize_loop(const int32_t *sums, const int32_t rows,
                                                                      const int32_t *kernel_sum, const int32_t *bias,
                                                                      const int32_t *multipliers,
                                                                      const int32_t *shifts, const int32_t pc,
                                                                      const int32_t has_ks, const int32_t has_bias,
                                                                      const int32_t dst_offset, const int32_t act_min,
                                                                      const int32_t act_max, int8_t *dst)
{
    const int32_t mult0 = multipliers[0], left0 = shifts[0] > 0 ? shifts[0] : 0;
    const int32x4_t neg0 = vdupq_n_s32(shifts[0] < 0 ? shifts[0] : 0);
    const int32x4_t lo = vdupq_n_s32(act_min), hi = vdupq_n_s32(act_max);
    int32_t r = 0;
    for (; r + 4 <= rows; r += 4)
    {
        mve_requantize_4(vldrwq_s32(sums + r), kernel_sum + r, bias + r, multipliers + r, shifts + r, pc, has_ks,
                         has_bias, mult0, left0, neg0, dst_offset, lo, hi, dst + r, 0, 0);
    }
    if (r < rows)
    {
        mve_requantize_4(vldrwq_s32(sums + r), kernel_sum + r, bias + r, multipliers + r, shifts + r, pc, has_ks,
                         has_bias, mult0, left0, neg0, dst_offset, lo, hi, dst + r,
                         vctp32q((uint32_t)(rows - r)), 1);
    }
}

/*
 * dst[r] = clamp(requantize(sums[r] + kernel_sum[r] + bias[r]) + dst_offset) for r in [0, rows),
 * 4 lanes at a time (per-channel multipliers and shifts as vectors: the lane-wise form of
 * tr_nn_requantize_x4); kernel_sum/bias may be NULL. multipliers/shifts start at row 0 of the
 * block when per_channel. One loop per combination, so none of them tests a flag per step.
 */
static void mve_requantize(const int32_t *sums, int32_t rows, const int32_t *kernel_sum, const int32_t *bias,
                           const int32_t *multipliers, const int32_t *shifts, int32_t per_channel,
                           int32_t dst_offset, int32_t act_min, int32_t act_max, int8_t *dst)
{
#define TR_NN_RQ(pc, ks, b)                                                                                         \
    mve_requantize_loop(sums, rows, kernel_sum, bias, multipliers, shifts, pc, ks, b, dst_offset, act_min, act_max, \
                        dst)
    switch ((per_channel ? 4 : 0) | (kernel_sum != NULL ? 2 : 0) | (bias != NULL ? 1 : 0))
    {
    case 7: TR_NN_RQ(1, 1, 1); break;
    case 6: TR_NN_RQ(1, 1, 0); break;
    case 5: TR_NN_RQ(1, 0, 1); break;
    case 4: TR_NN_RQ(1, 0, 0); break;
    case 3: TR_NN_RQ(0, 1, 1); break;
    case 2: TR_NN_RQ(0, 1, 0); break;
    case 1: TR_NN_RQ(0, 0, 1); break;
    default: TR_NN_RQ(0, 0, 0); break;
    }
#undef TR_NN_RQ
}
#endif

#if defined(ARM_MATH_DSP) && !defined(ARM_MATH_MVEI)
/* The bias the fast path reads when the call has none (a multiple of 6 rows: whole blocks). */
#define TR_NN_ZERO_ROWS 96
static const int32_t s_zero_bias[TR_NN_ZERO_ROWS] = {0};

/*
 * Rows 2 mod 4 bytes long (e.g. 198 columns), weights word aligned: even rows start on a word,
 * odd rows 2 bytes past one. Rather than two LDRs per row and group, both take LDRD: even rows
 * against the widened input x16, odd rows from 2 bytes before their start against the input
 * widened again moved by 2 columns (2 zero columns first, which meet the previous row's last 2
 * weights), into the same buffer. Blocks
 * are rows r, r + 2, r + 4 (step 2); blocks of the two phases cover rows [0, 6 * blocks), which is
 * returned (0 when the fast path declined). Needs full output range, rows >= 6.
 */
static int32_t dsp_rows3_phases(uint32_t *x16, const int8_t *lhs, int32_t lhs_offset, const int8_t *rhs,
                                const int32_t *bias, int8_t *dst, int32_t dst_offset, const int32_t *multipliers,
                                const int32_t *shifts, int32_t per_channel, int32_t cols, int32_t rows)
{
    const int32_t g2 = (cols + 9) >> 3; /* 8-column groups of the odd rows */
    int32_t blocks = rows / 6;
    if (6 * blocks == rows && 8 * g2 != cols + 2)
    {
        blocks--; /* the last odd row's groups would read past the weights */
    }
    if (blocks == 0)
    {
        return 0;
    }
    const int32_t pt_mult = multipliers[0];
    const int32_t pt_pow2 = (int32_t)(0x80000000u >> (uint32_t)(-shifts[0])); /* used when per-tensor */
    int32_t ok = 1;
    for (int32_t phase = 0; phase < 2 && ok; phase++)
    {
        if (phase == 1)
        {
            /* the input moved by 2 columns, over x16: per 4 columns m, (x[4m-2], x[4m]) and
             * (x[4m-1], x[4m+1]), which is what widening from x + 4m - 2 gives; for m = 0 the
             * moved-in lanes are 0; zero past the widened columns up to the groups' end */
            widen_input(lhs + 2, cols - 2, lhs_offset, x16 + 2);
            for (int32_t w = 2 + (((cols - 2 + 7) & ~7) >> 1); w < 4 * g2; w++)
            {
                x16[w] = 0u;
            }
            x16[0] = (uint32_t)(lhs[0] + lhs_offset) << 16;
            x16[1] = (uint32_t)(lhs[1] + lhs_offset) << 16;
        }
        const int32_t k = per_channel ? phase : 0;
        tr_nn_rows3_args a = {x16, phase ? rhs + cols - 2 : rhs, 2 * cols, bias + phase, 0, {multipliers + k},
                              {shifts + k}, dst + phase, dst_offset, -128, 127, dst + phase + 6 * blocks, 0};
        if (!per_channel)
        {
            a.mult.value = pt_mult;
            a.shift.pow2 = pt_pow2;
        }
        ok = arm_nn_vec_mat_mult_t_s8_tr_rows3(&a, per_channel, phase ? cols + 2 : cols, 2) == 0;
    }
    if (!ok || 6 * blocks < rows)
    {
        widen_input(lhs, cols, lhs_offset, x16); /* back for the general path */
    }
    return ok ? 6 * blocks : 0;
}

/*
 * The rows the 3-row fast path can take, all of them unless it declines: the phase-split form for
 * rows 2 mod 4 bytes long, then whole blocks, then one block over the last 3 rows (recomputing 1
 * or 2 rows with identical results when they overlap). When the columns are not a multiple of 8,
 * that last block's groups stop at the last whole group (reading on would leave the weights) and
 * the rest of each of its rows goes into its bias. Returns the rows done from row 0: rows (or fewer
 * after the phase-split form), or 0 when the fast path declined (an accumulator or shift outside
 * its range). rows >= 3.
 */
static inline __attribute__((always_inline)) int32_t dsp_rows3(uint32_t *x16, const int8_t *lhs,
                                                               int32_t lhs_offset, const int8_t *rhs,
                                                               const int32_t *bias, int8_t *dst, int32_t dst_offset,
                                                               const int32_t *multipliers, const int32_t *shifts,
                                                               int32_t per_channel, int32_t cols, int32_t rows,
                                                               int32_t act_min, int32_t act_max)
{
    int32_t done = 0;
    if ((cols & 3) == 2 && ((uintptr_t)rhs & 3u) == 0 && cols <= TR_NN_DSP_COLS - 2 && rows >= 6 &&
        act_min == -128 && act_max == 127)
    {
        done = dsp_rows3_phases(x16, lhs, lhs_offset, rhs, bias, dst, dst_offset, multipliers, shifts, per_channel,
                                cols, rows);
        if (done > 0)
        {
            return done; /* the general path takes the rows left (x16 is the plain widened input again):
                            blocks over them would repeat more rows than they save */
        }
    }
    const int32_t pt_mult = multipliers[0];
    const int32_t pt_pow2 = (int32_t)(0x80000000u >> (uint32_t)(-shifts[0])); /* used when per-tensor */
    int32_t blocks = (rows - done) / 3;
    if ((cols & 7) != 0 && done + 3 * blocks == rows)
    {
        blocks--; /* the last block's last group would read past the weights: the tail form below */
    }
    if (blocks > 0)
    {
        const int32_t k = per_channel ? done : 0;
        tr_nn_rows3_args a = {x16, rhs + done * cols, cols, bias + done, 0, {multipliers + k}, {shifts + k},
                              dst + done, dst_offset, act_min, act_max, dst + done + 3 * blocks, 0};
        if (!per_channel)
        {
            a.mult.value = pt_mult;
            a.shift.pow2 = pt_pow2;
        }
        if (arm_nn_vec_mat_mult_t_s8_tr_rows3(&a, per_channel, cols, 1) != 0)
        {
            return 0;
        }
        done += 3 * blocks;
    }
    if (done == rows)
    {
        return rows;
    }
    const int32_t r = rows - 3, span = (cols & 7) != 0 ? cols & ~7 : cols;
    const int32_t *b3 = bias + r;
    int32_t tail_bias[3];
    if (span < cols)
    {
        for (int32_t i = 0; i < 3; i++)
        {
            const int8_t *w = rhs + (r + i) * cols;
            uint32_t acc = (uint32_t)bias[r + i]; /* wraps like the reference's int32 sum */
            for (int32_t c = span; c < cols; c++)
            {
                acc += (uint32_t)((lhs[c] + lhs_offset) * w[c]);
            }
            tail_bias[i] = (int32_t)acc;
        }
        b3 = tail_bias;
    }
    const int32_t k = per_channel ? r : 0;
    tr_nn_rows3_args b = {x16, rhs + r * cols, cols, b3, 0, {multipliers + k}, {shifts + k}, dst + r,
                          dst_offset, act_min, act_max, dst + rows, 0};
    if (!per_channel)
    {
        b.mult.value = pt_mult;
        b.shift.pow2 = pt_pow2;
    }
    return arm_nn_vec_mat_mult_t_s8_tr_rows3(&b, per_channel, span, 1) == 0 ? rows : 0;
}
#endif

void arm_nn_vec_mat_mult_t_s8_tr(const int8_t *lhs,
                                 const int8_t *rhs,
                                 const int32_t *kernel_sum,
                                 const int32_t *bias,
                                 int8_t *dst,
                                 int32_t lhs_offset,
                                 int32_t dst_offset,
                                 const int32_t *multipliers,
                                 const int32_t *shifts,
                                 int32_t per_channel,
                                 int32_t rhs_cols,
                                 int32_t rhs_rows,
                                 int32_t activation_min,
                                 int32_t activation_max)
{
    int32_t row = 0;
#if defined(ARM_MATH_MVEI)
    /* 4 rows per pass into int32 sums, then requantised 4 at a time. A last block of 1 to 3 rows
     * repeats its last row; only the real rows are requantised. Without kernel sums the input
     * offset times each row's plain sum is added here. */
    int32_t sums[TR_NN_MVE_ROWS + 4] __attribute__((aligned(16)));
    for (; row < rhs_rows; row += TR_NN_MVE_ROWS)
    {
        const int32_t rows = rhs_rows - row < TR_NN_MVE_ROWS ? rhs_rows - row : TR_NN_MVE_ROWS;
        const int8_t *w = rhs + row * rhs_cols;
        int32_t r = 0;
        if (kernel_sum != NULL && rows >= 4 && rhs_cols > 0)
        {
            const tr_nn_mve4_args args = {lhs, w, rhs_cols, rows >> 2, sums};
            mve_4rows_blocks(&args);
            r = rows & ~3;
            w += r * rhs_cols;
        }
        for (; r < rows; r += 4, w += 4 * rhs_cols)
        {
            const int32_t left = rows - r;
            const int8_t *w1 = left > 1 ? w + rhs_cols : w, *w2 = left > 2 ? w + 2 * rhs_cols : w;
            const int8_t *w3 = left > 3 ? w + 3 * rhs_cols : w;
            if (kernel_sum != NULL)
            {
                mve_4rows(lhs, w, w1, w2, w3, rhs_cols, sums + r);
            }
            else
            {
                int32_t wsum[4] __attribute__((aligned(16)));
                mve_4rows_sums(lhs, w, w1, w2, w3, rhs_cols, sums + r, wsum);
                vstrwq_s32(sums + r, vmlaq_n_s32(vldrwq_s32(sums + r), vldrwq_s32(wsum), lhs_offset));
            }
        }
        const int32_t k = per_channel ? row : 0;
        mve_requantize(sums, rows, kernel_sum != NULL ? kernel_sum + row : NULL, bias != NULL ? bias + row : NULL,
                       multipliers + k, shifts + k, per_channel, dst_offset, activation_min, activation_max,
                       dst + row);
    }
#else
#if defined(ARM_MATH_DSP)
    /* The input offset goes into the widened input, so kernel sums are not needed here. */
    (void)kernel_sum;
    uint32_t x16[TR_NN_DSP_COLS / 2 + 4]; /* + sentinel + 3 words the fast path's LDM reads past it */
    int32_t sums[TR_NN_DSP_ROWS];
    /* Fast path (arm_nn_vec_mat_mult_t_s8_tr_rows3.c): whole blocks of 3 rows, requantised in
     * registers. The rest, and any call it declines, below. Without bias it reads zeros, in
     * chunks of TR_NN_ZERO_ROWS rows. */
    const int32_t pt_shift_ok = per_channel || (shifts[0] >= -31 && shifts[0] <= -1);
    if (rhs_cols > 0 && rhs_cols <= TR_NN_DSP_COLS && rhs_rows >= 3 && pt_shift_ok)
    {
        widen_input(lhs, rhs_cols, lhs_offset, x16);
        if (bias != NULL)
        {
            row = dsp_rows3(x16, lhs, lhs_offset, rhs, bias, dst, dst_offset, multipliers, shifts, per_channel,
                            rhs_cols, rhs_rows, activation_min, activation_max);
        }
        else
        {
            while (row < rhs_rows)
            {
                const int32_t n = rhs_rows - row < TR_NN_ZERO_ROWS ? rhs_rows - row : TR_NN_ZERO_ROWS;
                const int32_t k = per_channel ? row : 0;
                const int32_t done = n < 3 ? 0
                                           : dsp_rows3(x16, lhs, lhs_offset, rhs + row * rhs_cols, s_zero_bias,
                                                       dst + row, dst_offset, multipliers + k, shifts + k,
                                                       per_channel, rhs_cols, n, activation_min, activation_max);
                row += done;
                if (done < n)
                {
                    break; /* the general path takes it from here */
                }
                if (row < rhs_rows && (rhs_cols & 3) == 2)
                {
                    widen_input(lhs, rhs_cols, lhs_offset, x16); /* the phase-split path moved it */
                }
            }
            if (row > 0 && row < rhs_rows && (rhs_cols & 3) == 2)
            {
                widen_input(lhs, rhs_cols, lhs_offset, x16); /* the general path's input */
            }
        }
    }
    for (; row < rhs_rows; row += TR_NN_DSP_ROWS)
    {
        const int32_t rows = rhs_rows - row < TR_NN_DSP_ROWS ? rhs_rows - row : TR_NN_DSP_ROWS;
        /* columns in slices that fit the widened-input buffer (one slice for most layers) */
        for (int32_t c0 = 0; c0 < rhs_cols; c0 += TR_NN_DSP_COLS)
        {
            const int32_t n = rhs_cols - c0 < TR_NN_DSP_COLS ? rhs_cols - c0 : TR_NN_DSP_COLS;
            /* (after the fast path's rows, x16 already holds the single slice) */
            if (row == 0 || rhs_cols > TR_NN_DSP_COLS)
            {
                widen_input(lhs + c0, n, lhs_offset, x16);
            }
            if (c0 == 0 && bias != NULL)
            {
                memcpy(sums, bias + row, (size_t)rows * sizeof(int32_t));
            }
            else if (c0 == 0)
            {
                memset(sums, 0, (size_t)rows * sizeof(int32_t));
            }
            dsp_accumulate(x16, lhs + c0, lhs_offset, rhs + row * rhs_cols + c0, rhs_cols, rows, n,
                           row + rows == rhs_rows, sums);
        }
        const int32_t k = per_channel ? row : 0;
        dsp_requantize(sums, rows, multipliers + k, shifts + k, per_channel, dst_offset, activation_min,
                       activation_max, dst + row);
    }
#else
    (void)kernel_sum; /* the input offset is applied per element below */
    for (; row < rhs_rows; row++)
    {
        const int8_t *w = rhs + row * rhs_cols;
        int32_t acc = bias != NULL ? bias[row] : 0;
        for (int32_t c = 0; c < rhs_cols; c++)
        {
            acc += (lhs[c] + lhs_offset) * w[c];
        }
        const int32_t k = per_channel ? row : 0;
        dst[row] = requantize_out(acc, multipliers[k], shifts[k], dst_offset, activation_min, activation_max);
    }
#endif
#endif
}
