/*
 * The Cortex-M4 (DSP extension) fast path of arm_nn_vec_mat_mult_t_s8_tr: blocks of 3 rows
 * multiplied against the widened input (int16 pairs, offset included) and requantised straight
 * from the accumulator registers (no sums buffer, no second pass).
 *
 * MACs. Why 3 rows: LDRD has no register offset, so each row needs its own pointer, and the MAC
 * code also holds 4 input words (8 columns, one LDM), 2 weight words, 1 temporary and the input
 * pointer: 2 * 3 + 8 = 14 registers, all of r0-r12 and lr. Per 8 columns and 3 rows (24 MACs):
 * 3 LDRD, 12 SXTB16, 12 SMLAD and the LDM of the next group's input = 28 instructions, 1.17 per
 * MAC (SXTB16 + SMLAD alone are 1.0, the floor for int8 x int8 on this ISA). There is no loop:
 * the groups are unrolled 64 times (512 columns, the widened-input buffer) in one shared routine,
 * entered at 64 - groups from the end (computed once per call), so no compare or branch runs per
 * group. Rows that are not word aligned use the same code with two LDRs per row instead of LDRD
 * (31 instructions per 24 MACs); the caller avoids that for rows 2 mod 4 bytes long by running even
 * and odd rows as separate blocks (step 2: rows r, r + 2, r + 4; bias, multipliers, shifts and
 * outputs every other entry).
 *
 * Requantisation per row, for |acc| < 2^30 and shift in [-31, -1] (the TFLite double rounding of
 * tr_nn_math.h, exact there):
 *   y = SMMULR(2 acc, mult)               = high_mul(acc, mult)          (tr_nn_rq_small)
 *   t = 2y - [y < 0]
 *   q = SMMLAR(t, 2^(31 - e), offset)      = offset + floor((t + 2^e) / 2^(e+1)), e = -shift
 * which is tr_nn_rq_small's rounding divide with ties away from zero; SMMLAR forms the product in
 * 64 bits, and |2y| < 2^31. The doubling is ADDS, whose V flag says the range did not hold; a
 * shift outside [-31, -1] makes 2^31 >> e zero (Z) or 2^31 (N). Either way the routine stops and
 * returns 1, and the caller computes the whole call with the general path, so results never
 * depend on the fast form's range. (SMLAD wraps like the reference's int32 sum, so an overflow
 * inside the sum changes nothing.)
 */
#include "arm_nnsupportfunctions.h"

#if defined(ARM_MATH_DSP) && !defined(ARM_MATH_MVEI)

/* acc += one row's 8 weights (in r11, r12) times the widened input r7 = (x0, x2), r8 = (x1, x3),
 * r9 = (x4, x6), r10 = (x5, x7). */
#define TR_NN_R3_MAC(acc)                                                                                          \
    "sxtb16 lr, r11\n\t"          /* (w0, w2) */                                                                   \
    "smlad  " acc ", lr, r7, " acc "\n\t"                                                                         \
    "sxtb16 r11, r11, ror #8\n\t" /* (w1, w3) */                                                                   \
    "smlad  " acc ", r11, r8, " acc "\n\t"                                                                        \
    "sxtb16 lr, r12\n\t"          /* (w4, w6) */                                                                   \
    "smlad  " acc ", lr, r9, " acc "\n\t"                                                                         \
    "sxtb16 r12, r12, ror #8\n\t" /* (w5, w7) */                                                                   \
    "smlad  " acc ", r12, r10, " acc "\n\t"

/* One 8-column group for the 3 rows (pointers r1-r3, post-incremented; accumulators r4-r6), then
 * the next group's input words (LDM r0!). */
#define TR_NN_R3_GROUP_LDRD                                                                                        \
    "ldrd   r11, r12, [r1], #8\n\t" TR_NN_R3_MAC("r4") "ldrd   r11, r12, [r2], #8\n\t" TR_NN_R3_MAC("r5")            \
    "ldrd   r11, r12, [r3], #8\n\t" TR_NN_R3_MAC("r6") "ldm    r0!, {r7-r10}\n\t"
#define TR_NN_R3_LDR2(p) "ldr    r11, [" p "], #4\n\t" "ldr    r12, [" p "], #4\n\t"
#define TR_NN_R3_GROUP_LDR2                                                                                        \
    TR_NN_R3_LDR2("r1") TR_NN_R3_MAC("r4") TR_NN_R3_LDR2("r2") TR_NN_R3_MAC("r5") TR_NN_R3_LDR2("r3")             \
    TR_NN_R3_MAC("r6") "ldm    r0!, {r7-r10}\n\t"

/* Bytes of one group (every instruction above has only a 32-bit encoding); the assembler checks. */
#define TR_NN_R3_LDRD_BYTES 112
#define TR_NN_R3_LDR2_BYTES 124

/*
 * The unrolled groups, shared by every variant below: entered by LDR PC from the variant's frame
 * (sp + 48), left the same way (sp + 52). Not functions in the AAPCS sense: naked, never called.
 */
__attribute__((naked, noinline, used)) static void r3_groups_ldrd(void)
{
    __asm__ volatile(".Ltr_nn_r3_ldrd_begin:\n\t"
                     ".rept 64\n\t" TR_NN_R3_GROUP_LDRD ".endr\n"
                     ".global tr_nn_r3_ldrd_end\n"
                     "tr_nn_r3_ldrd_end:\n\t"
                     ".if tr_nn_r3_ldrd_end - .Ltr_nn_r3_ldrd_begin - 64 * 112\n\t"
                     ".error \"TR_NN_R3_LDRD_BYTES is wrong\"\n\t"
                     ".endif\n\t"
                     "ldr    pc, [sp, #52]\n");
}

__attribute__((naked, noinline, used)) static void r3_groups_ldr2(void)
{
    __asm__ volatile(".Ltr_nn_r3_ldr2_begin:\n\t"
                     ".rept 64\n\t" TR_NN_R3_GROUP_LDR2 ".endr\n"
                     ".global tr_nn_r3_ldr2_end\n"
                     "tr_nn_r3_ldr2_end:\n\t"
                     ".if tr_nn_r3_ldr2_end - .Ltr_nn_r3_ldr2_begin - 64 * 124\n\t"
                     ".error \"TR_NN_R3_LDR2_BYTES is wrong\"\n\t"
                     ".endif\n\t"
                     "ldr    pc, [sp, #52]\n");
}

extern const uint8_t tr_nn_r3_ldrd_end[];
extern const uint8_t tr_nn_r3_ldr2_end[];

/*
 * Prologue and block loop shared by the variants. The arguments (tr_nn_rows3_args, 13 words) are
 * copied to the stack frame (sp + 0 .. 48, in struct order); sp + 52 gets the return address from
 * the groups. Per block: the first row is the previous block's last row pointer minus the padding
 * (sp + 16), accumulators = bias, the groups, then the sums doubled with ADDS (V: out of range),
 * and EPILOGUE requantises and stores them, ending with r2 = output pointer. V is clear in the
 * epilogue (the per-channel one branches on LE after LSRS, which leaves V alone), and CMP of two
 * pointers into one array leaves it clear for the next block.
 */
#define TR_NN_R3_BODY(EPILOGUE, BIAS)                                                                                    \
    __asm__ volatile("push   {r4-r11, lr}\n\t"                                                                     \
                     "sub    sp, sp, #60\n\t"                                                                      \
                     "ldm    r0, {r1-r12, lr}\n\t"                                                                 \
                     "stm    sp, {r1-r12, lr}\n\t"                                                                 \
                     "adr    r1, 6f\n\t"                                                                           \
                     "orr    r1, r1, #1\n\t"       /* Thumb */                                                     \
                     "str    r1, [sp, #52]\n\t"                                                                    \
                     "2:\n\t"                                                                                      \
                     "ldm    sp, {r0-r3, r12}\n\t" /* input, row pointer, row stride, bias, padding */             \
                     "sub    r1, r1, r12\n\t"      /* first row of the block */                                    \
                     BIAS                          /* accumulators = bias */                                       \
                     "str    r3, [sp, #12]\n\t"                                                                    \
                     "add    r3, r1, r2, lsl #1\n\t" /* rows 1 and 2 */                                            \
                     "add    r2, r1, r2\n\t"                                                                       \
                     "ldm    r0!, {r7-r10}\n\t"    /* first input group */                                         \
                     "ldr    pc, [sp, #48]\n"      /* the groups, back at 6 */                                     \
                     "6:\n\t"                                                                                      \
                     "str    r3, [sp, #4]\n\t"     /* row 2's end: the next block's first row + padding */         \
                     "adds   r4, r4, r4\n\t"       /* 2 acc; V if it overflows */                                  \
                     "bvs    9f\n\t"                                                                               \
                     "adds   r5, r5, r5\n\t"                                                                       \
                     "bvs    9f\n\t"                                                                               \
                     "adds   r6, r6, r6\n\t"                                                                       \
                     "bvs    9f\n\t" EPILOGUE                                                                      \
                     "ldr    lr, [sp, #44]\n\t"                                                                    \
                     "cmp    r2, lr\n\t"                                                                           \
                     "bne    2b\n\t"                                                                               \
                     "movs   r0, #0\n\t"                                                                           \
                     "b      7f\n"                                                                                 \
                     "9:\n\t"                                                                                      \
                     "movs   r0, #1\n"                                                                             \
                     "7:\n\t"                                                                                      \
                     "add    sp, sp, #60\n\t"                                                                      \
                     "pop    {r4-r11, pc}\n")

/* Bias, multipliers and shifts of a block's 3 rows: consecutive (step 1), or every other entry
 * (step 2: the blocks of the phase-split path take rows r, r + 2, r + 4). */
#define TR_NN_R3_BIAS1 "ldm    r3!, {r4-r6}\n\t"
#define TR_NN_R3_BIAS2 "ldr    r4, [r3], #8\n\t" "ldr    r5, [r3], #8\n\t" "ldr    r6, [r3], #8\n\t"
#define TR_NN_R3_MS1 "ldm    r0!, {r7-r9}\n\t" "ldm    r1!, {r10, r11, lr}\n\t"
#define TR_NN_R3_MS2                                                                                                \
    "ldr    r7, [r0], #8\n\t" "ldr    r8, [r0], #8\n\t" "ldr    r9, [r0], #8\n\t"                                   \
    "ldr    r10, [r1], #8\n\t" "ldr    r11, [r1], #8\n\t" "ldr    lr, [r1], #8\n\t"

/* Clamp acc to the output range: SSAT for [-128, 127], else compare with registers lo and hi
 * (loaded by the _SETUP part). */
#define TR_NN_R3_CLAMP_FULL(acc, lo, hi) "ssat   " acc ", #8, " acc "\n\t"
#define TR_NN_R3_CLAMP_FULL_SETUP(lo, hi) ""
#define TR_NN_R3_CLAMP_ACT(acc, lo, hi)                                                                            \
    "cmp    " acc ", " lo "\n\t"                                                                                  \
    "it     lt\n\t"                                                                                               \
    "movlt  " acc ", " lo "\n\t"                                                                                  \
    "cmp    " acc ", " hi "\n\t"                                                                                  \
    "it     gt\n\t"                                                                                               \
    "movgt  " acc ", " hi "\n\t"
#define TR_NN_R3_CLAMP_ACT_SETUP(lo, hi) "ldrd   " lo ", " hi ", [sp, #36]\n\t"

/* Per-channel requantisation of one row: acc holds 2 acc, m its multiplier, s its shift;
 * r0 = 2^31, r2 = output pointer, r3 = output offset, r1/r12 = act_min/act_max. */
#define TR_NN_R3_RQ_PC(acc, m, s, CLAMP, ST)                                                                           \
    "smmulr " acc ", " acc ", " m "\n\t"  /* y = high_mul(acc, m) */                                             \
    "rsb    " s ", " s ", #0\n\t"         /* e = -shift */                                                        \
    "lsrs   " s ", r0, " s "\n\t"         /* 2^(31 - e): 2^31 (N) for e = 0, 0 (Z) for e not in [0, 31] */         \
    "ble    9f\n\t"                       /* (V is clear) */                                                      \
    "lsl    " m ", " acc ", #1\n\t"                                                                               \
    "sub    " m ", " m ", " acc ", lsr #31\n\t" /* t = 2y - [y < 0] */                                            \
    "smmlar " acc ", " m ", " s ", r3\n\t"      /* offset + round(t / 2^(e+1)) */                                 \
    CLAMP(acc, "r1", "r12") "strb   " acc ", [r2], #" ST "\n\t"

#define TR_NN_R3_EPI_PC(CLAMP, SETUP, MS, ST)                                                                              \
    "add    r12, sp, #20\n\t"                                                                                     \
    "ldm    r12, {r0-r3}\n\t"         /* multipliers, shifts, output, output offset */                           \
    MS                                /* this block's multipliers r7-r9 and shifts r10, r11, lr */               \
    "stm    r12, {r0, r1}\n\t" SETUP("r1", "r12")                                                                 \
    "mov    r0, #0x80000000\n\t"                                                                                  \
    TR_NN_R3_RQ_PC("r4", "r7", "r10", CLAMP, ST) TR_NN_R3_RQ_PC("r5", "r8", "r11", CLAMP, ST)                     \
    TR_NN_R3_RQ_PC("r6", "r9", "lr", CLAMP, ST) "str    r2, [sp, #28]\n\t"

/* Per-tensor: r0 = multiplier, r1 = 2^(31 - e) (the caller checked the shift), r9 temporary,
 * r10/r11 = act_min/act_max. */
#define TR_NN_R3_RQ_PT(acc, CLAMP, ST)                                                                                 \
    "smmulr " acc ", " acc ", r0\n\t"                                                                             \
    "lsl    r9, " acc ", #1\n\t"                                                                                  \
    "sub    r9, r9, " acc ", lsr #31\n\t"                                                                         \
    "smmlar " acc ", r9, r1, r3\n\t" CLAMP(acc, "r10", "r11") "strb   " acc ", [r2], #" ST "\n\t"

#define TR_NN_R3_EPI_PT(CLAMP, SETUP, ST)                                                                              \
    "add    r12, sp, #20\n\t"                                                                                     \
    "ldm    r12, {r0-r3}\n\t" SETUP("r10", "r11")                                                                 \
    TR_NN_R3_RQ_PT("r4", CLAMP, ST) TR_NN_R3_RQ_PT("r5", CLAMP, ST) TR_NN_R3_RQ_PT("r6", CLAMP, ST)               \
    "str    r2, [sp, #28]\n\t"

/* Naked: the MAC code needs all 14 allocatable registers, more than gcc gives an asm statement. */
#define TR_NN_R3_FN(name, BODY)                                                                                    \
    __attribute__((naked, noinline)) static int32_t name(const tr_nn_rows3_args *args __attribute__((unused)))    \
    {                                                                                                              \
        BODY;                                                                                                      \
    }
TR_NN_R3_FN(rows3_pc_full,
            TR_NN_R3_BODY(TR_NN_R3_EPI_PC(TR_NN_R3_CLAMP_FULL, TR_NN_R3_CLAMP_FULL_SETUP, TR_NN_R3_MS1, "1"),
                          TR_NN_R3_BIAS1))
TR_NN_R3_FN(rows3_pc_act,
            TR_NN_R3_BODY(TR_NN_R3_EPI_PC(TR_NN_R3_CLAMP_ACT, TR_NN_R3_CLAMP_ACT_SETUP, TR_NN_R3_MS1, "1"),
                          TR_NN_R3_BIAS1))
TR_NN_R3_FN(rows3_pt_full,
            TR_NN_R3_BODY(TR_NN_R3_EPI_PT(TR_NN_R3_CLAMP_FULL, TR_NN_R3_CLAMP_FULL_SETUP, "1"), TR_NN_R3_BIAS1))
TR_NN_R3_FN(rows3_pt_act,
            TR_NN_R3_BODY(TR_NN_R3_EPI_PT(TR_NN_R3_CLAMP_ACT, TR_NN_R3_CLAMP_ACT_SETUP, "1"), TR_NN_R3_BIAS1))
TR_NN_R3_FN(rows3_pc_full_step2,
            TR_NN_R3_BODY(TR_NN_R3_EPI_PC(TR_NN_R3_CLAMP_FULL, TR_NN_R3_CLAMP_FULL_SETUP, TR_NN_R3_MS2, "2"),
                          TR_NN_R3_BIAS2))
TR_NN_R3_FN(rows3_pt_full_step2,
            TR_NN_R3_BODY(TR_NN_R3_EPI_PT(TR_NN_R3_CLAMP_FULL, TR_NN_R3_CLAMP_FULL_SETUP, "2"), TR_NN_R3_BIAS2))

int32_t arm_nn_vec_mat_mult_t_s8_tr_rows3(tr_nn_rows3_args *args, int32_t per_channel, int32_t span, int32_t step)
{
    const int32_t groups = (span + 7) >> 3; /* 1 .. 64 */
    const int32_t ldrd = (args->cols & 3) == 0 && ((uintptr_t)args->rhs & 3u) == 0;
    const uint8_t *entry = ldrd ? tr_nn_r3_ldrd_end - groups * TR_NN_R3_LDRD_BYTES
                                : tr_nn_r3_ldr2_end - groups * TR_NN_R3_LDR2_BYTES;
    args->entry = (uintptr_t)entry | 1u; /* Thumb */
    args->pad = groups * 8 - args->cols;
    args->rhs += args->pad; /* the block loop subtracts it from each block's row pointer */
    const int32_t full = args->act_min == -128 && args->act_max == 127;
    if (step == 2)
    {
        return per_channel ? rows3_pc_full_step2(args) : rows3_pt_full_step2(args);
    }
    if (per_channel)
    {
        return full ? rows3_pc_full(args) : rows3_pc_act(args);
    }
    return full ? rows3_pt_full(args) : rows3_pt_act(args);
}

#endif
