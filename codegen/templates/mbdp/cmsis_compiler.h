/* cmsis_compiler.h -- tunerig's minimal stand-in for CMSIS-Core's header of the same name.
 *
 * CMSIS-DSP includes "cmsis_compiler.h" for a few compiler macros and the DSP intrinsics; the
 * CMSIS-Core package is not part of the cmsisdsp source archive, so the MBDP build maps what the
 * biquad sources need onto GCC attributes and ACLE (<arm_acle.h>, shipped with arm-none-eabi-gcc).
 */
#ifndef TR_CMSIS_COMPILER_H
#define TR_CMSIS_COMPILER_H

#include <stdint.h>
#if defined(__arm__)
#include <arm_acle.h>
#endif

#ifndef __ASM
#define __ASM __asm
#endif
#ifndef __INLINE
#define __INLINE inline
#endif
#ifndef __STATIC_INLINE
#define __STATIC_INLINE static inline
#endif
#ifndef __STATIC_FORCEINLINE
#define __STATIC_FORCEINLINE __attribute__((always_inline)) static inline
#endif
#ifndef __WEAK
#define __WEAK __attribute__((weak))
#endif
#ifndef __ALIGNED
#define __ALIGNED(x) __attribute__((aligned(x)))
#endif
#ifndef __PACKED
#define __PACKED __attribute__((packed, aligned(1)))
#endif
#ifndef __PACKED_STRUCT
#define __PACKED_STRUCT struct __attribute__((packed, aligned(1)))
#endif
#ifndef __RESTRICT
#define __RESTRICT __restrict
#endif
#ifndef __NO_RETURN
#define __NO_RETURN __attribute__((__noreturn__))
#endif
#ifndef __USED
#define __USED __attribute__((used))
#endif

#if defined(__ARM_FEATURE_DSP) && (__ARM_FEATURE_DSP == 1)
#define __QADD(a, b) __qadd((a), (b))
#define __QSUB(a, b) __qsub((a), (b))
#define __SSAT(x, n) __ssat((x), (n))
#define __USAT(x, n) __usat((x), (n))
#define __SMLAD(a, b, c) __smlad((a), (b), (c))
#define __SMLADX(a, b, c) __smladx((a), (b), (c))
#define __SMLSDX(a, b, c) __smlsdx((a), (b), (c))
#define __SMUAD(a, b) __smuad((a), (b))
#define __SMUADX(a, b) __smuadx((a), (b))
#define __SMUSD(a, b) __smusd((a), (b))
#define __SMUSDX(a, b) __smusdx((a), (b))
#define __SMLALD(a, b, c) __smlald((a), (b), (c))
#define __SMLALDX(a, b, c) __smlaldx((a), (b), (c))
#define __QADD16(a, b) __qadd16((a), (b))
#define __QSUB16(a, b) __qsub16((a), (b))
#define __SHADD16(a, b) __shadd16((a), (b))
#define __SHSUB16(a, b) __shsub16((a), (b))
#define __QASX(a, b) __qasx((a), (b))
#define __QSAX(a, b) __qsax((a), (b))
#define __SHASX(a, b) __shasx((a), (b))
#define __SHSAX(a, b) __shsax((a), (b))
#define __PKHBT(a, b, s) ((((uint32_t)(a)) & 0x0000FFFFUL) | ((((uint32_t)(b)) << (s)) & 0xFFFF0000UL))
#define __PKHTB(a, b, s) ((((uint32_t)(a)) & 0xFFFF0000UL) | ((((uint32_t)(b)) >> (s)) & 0x0000FFFFUL))
#define __SXTB16(x) __sxtb16((x))
#endif
#if defined(__arm__)
/* gcc 12's arm_acle.h has no __clz/__rev: the builtins compile to CLZ/REV. CLZ(0) is 32. */
#define __CLZ(x) ((uint8_t)((x) == 0u ? 32 : __builtin_clz((x))))
#define __REV(x) __builtin_bswap32((x))
#define __ROR(x, n) ((uint32_t)(((uint32_t)(x) >> ((n) & 31u)) | ((uint32_t)(x) << ((32u - ((n) & 31u)) & 31u))))
#endif

#endif /* TR_CMSIS_COMPILER_H */
