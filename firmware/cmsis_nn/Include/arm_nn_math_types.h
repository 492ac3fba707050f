/*
 * Code-path selection for tunerig's CMSIS-NN subset, as in CMSIS-NN: ARM_MATH_MVEI (Helium),
 * ARM_MATH_DSP (DSP extension), else portable C. Derived from the ACLE feature macros the compiler
 * predefines for -mcpu=..., unless the build sets them.
 */
#ifndef ARM_NN_MATH_TYPES_H
#define ARM_NN_MATH_TYPES_H

#include <stdint.h>

#if !defined(ARM_MATH_MVEI) && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define ARM_MATH_MVEI
#endif
#if !defined(ARM_MATH_DSP) && defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
#define ARM_MATH_DSP
#endif

#endif /* ARM_NN_MATH_TYPES_H */
