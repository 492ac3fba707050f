"""STAND-IN for the generated MBDP module, used only until/unless codegen.mbdp is available and by
tests that exercise the link rather than the DSP.

It writes C with exactly the generated module's API (tr_mbdp.h, tr_mbdp.c, tr_mbdp.cmake), but the
"DSP" is a deliberately tiny stateful filter: y = sat(x[n] - x[n-1]/2) in Q31, then rounded and
saturated to Q15. Having state matters: a lost, repeated or reordered block changes the output, so
link tests cannot pass by accident. Its reference model lives in the tests, not here.
"""
from __future__ import annotations

from pathlib import Path

STANDIN_PROFILE_HASH = "standin-first-difference"

_HEADER = """\
/* STAND-IN for the generated MBDP module (hil/standin.py): NOT a multiband dynamics processor.
   Same API as codegen.mbdp's tr_mbdp.h. Q-formats: samples Q31 (process_q31) or Q15 (process_q15);
   y[n] = sat_q31(x[n] - (x[n-1] >> 1)). */
#ifndef TR_MBDP_H
#define TR_MBDP_H
#include <stddef.h>
#include <stdint.h>

#define TR_MBDP_SAMPLE_RATE_HZ 48000
#define TR_MBDP_LATENCY_SAMPLES 0
#define TR_MBDP_PROFILE_HASH "%(hash)s"

typedef struct {
    int32_t prev_q31;   /* x[n-1], Q31 */
} tr_mbdp_instance_q31;

void tr_mbdp_init_q31(tr_mbdp_instance_q31 *S);
void tr_mbdp_reset_q31(tr_mbdp_instance_q31 *S);
void tr_mbdp_process_q31(tr_mbdp_instance_q31 *S, const int32_t *in, int32_t *out, size_t n);
void tr_mbdp_process_q15(tr_mbdp_instance_q31 *S, const int16_t *in, int16_t *out, size_t n);
#endif
"""

_SOURCE = """\
/* STAND-IN for the generated MBDP module (hil/standin.py). */
#include "tr_mbdp.h"

void tr_mbdp_init_q31(tr_mbdp_instance_q31 *S) { S->prev_q31 = 0; }
void tr_mbdp_reset_q31(tr_mbdp_instance_q31 *S) { S->prev_q31 = 0; }

static int32_t tr_standin_step(tr_mbdp_instance_q31 *S, int32_t x)
{
    int64_t y = (int64_t)x - (int64_t)(S->prev_q31 >> 1);
    S->prev_q31 = x;
    if (y > INT32_MAX) { y = INT32_MAX; }
    if (y < INT32_MIN) { y = INT32_MIN; }
    return (int32_t)y;
}

void tr_mbdp_process_q31(tr_mbdp_instance_q31 *S, const int32_t *in, int32_t *out, size_t n)
{
    for (size_t k = 0; k < n; k++) { out[k] = tr_standin_step(S, in[k]); }
}

void tr_mbdp_process_q15(tr_mbdp_instance_q31 *S, const int16_t *in, int16_t *out, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        int64_t y = ((int64_t)tr_standin_step(S, (int32_t)((uint32_t)(int32_t)in[k] << 16)) + 0x8000) >> 16;
        out[k] = (int16_t)(y > 32767 ? 32767 : (y < -32768 ? -32768 : y));
    }
}
"""


def write_standin_mbdp(out_dir, profile_hash: str = STANDIN_PROFILE_HASH) -> Path:
    """Write the stand-in module into out_dir (created) and return out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tr_mbdp.h").write_text(_HEADER % {"hash": profile_hash})
    (out / "tr_mbdp.c").write_text(_SOURCE)
    (out / "tr_mbdp.cmake").write_text(
        "# STAND-IN MBDP module (hil/standin.py)\n"
        f'set(TR_MBDP_SOURCES "{(out / "tr_mbdp.c").resolve()}")\n'
        f'set(TR_MBDP_INCLUDE_DIRS "{out.resolve()}")\n'
    )
    return out
