/*
 * tunerig int8 operators that CMSIS-NN does not provide, with TFLite Micro reference semantics.
 * Always compiled from here, also when CMSIS_NN_PATH selects Arm's CMSIS-NN for the other kernels.
 *
 * Q formats: every int8 tensor is affine, real = scale * (q - zero_point); multipliers are Q31 with
 * a power-of-two shift (real = mult * 2^(shift - 31)), exactly as TFLite's QuantizeMultiplier.
 */
#ifndef TR_NN_OPS_H
#define TR_NN_OPS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Element-wise table lookup: out[i] = table[in[i] + 128]. Used for int8 LOGISTIC and TANH, whose
 *  256-entry tables the generator computes with TFLM's gemmlowp fixed-point arithmetic. */
void tr_nn_lut_s8(const int8_t *in, const int8_t *table, int8_t *out, int32_t n);

/** TFLite SUB int8: like arm_elementwise_add_s8 but subtracting the scaled second input. */
void tr_nn_sub_s8(const int8_t *in1, const int8_t *in2, int32_t in1_offset, int32_t in1_mult, int32_t in1_shift,
                  int32_t in2_offset, int32_t in2_mult, int32_t in2_shift, int32_t left_shift, int8_t *out,
                  int32_t out_offset, int32_t out_mult, int32_t out_shift, int32_t act_min, int32_t act_max,
                  int32_t n);

/** int8 -> int8 requantisation (TFLite QUANTIZE int8->int8; also the recurrent state hand-over):
 *  out = clamp(requantize(in - in_zp, mult, shift) + out_zp). */
void tr_nn_requantize_s8(const int8_t *in, int8_t *out, int32_t n, int32_t in_zp, int32_t mult, int32_t shift,
                         int32_t out_zp);

/** float32 -> int8 (TFLite QUANTIZE): out = clamp(round(in / scale) + zp), round half away from zero. */
void tr_nn_quantize_f32_s8(const float *in, int8_t *out, int32_t n, float scale, int32_t zp);

/** int8 -> float32 (TFLite DEQUANTIZE): out = (float)(scale * (in - zp)) evaluated in double. */
void tr_nn_dequantize_s8_f32(const int8_t *in, float *out, int32_t n, double scale, int32_t zp);

/** Gather contiguous runs: for each run k, copy runs[3k+2] bytes from src + runs[3k] to dst + runs[3k+1].
 *  Serves SPLIT, STRIDED_SLICE, UNPACK, PACK and CONCATENATION with offsets planned at generation time. */
void tr_nn_copy_runs_s8(const int8_t *src, int8_t *dst, const int32_t *runs, int32_t n_runs);

#ifdef __cplusplus
}
#endif

#endif /* TR_NN_OPS_H */
