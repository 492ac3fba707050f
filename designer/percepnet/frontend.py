"""PercepNet-style front end, float reference (numpy, vectorised over frames).

Signal flow per 10 ms hop (Valin et al. 2020, FIELD_NOTES §1.3):

    x --> Vorbis window --> FFT X(k) ------------------------------+
    |                                                             |
    +--> pitch search (normalised correlation) --> tracker --> T  |
    +--> comb filter p(n) = sum_k w_k x(n - kT) --> window --> FFT P(k)
                                                                  |
    features: log band energies of X, band coherence of X with P, pitch period, pitch correlation
    network (or oracle): per-band gains g_b and comb strengths r_b in [0, 1]
    Z = (1 - r) X + r P_hat  (P_hat: P rescaled to X's band energy), gains re-normalised to Z's energy
    envelope post-filter on g, gains interpolated per bin through the band triangles, Y = g(k) Z(k)
    inverse FFT --> Vorbis window --> overlap-add

Timing and the algorithmic delay (counted in input samples):
    Frame t covers padded input samples [tH, tH + N) where N = window_len = 2 H and the input is
    preceded by N - H zeros, so the newest sample of frame t is input sample tH + H - 1.
    The comb filter of frame t may read `lookahead_len` (LA) samples beyond the frame.
    Frame t can therefore be processed once input sample tH + H - 1 + LA has arrived, and it completes
    output samples tH - (N - H) .. tH + H - 1 - (N - H) (overlap-add needs frame t to finish the
    first half of its window). The newest output sample lags the newest input sample by
        delay = (N - H) + LA  samples   (16 kHz defaults: 160 + 160 = 320 samples = 20 ms),
    not counting the compute time of one hop. The offline functions here return output that is
    already time-aligned with the input (the delay is removed), which is what the metrics need.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from designer.errors import InputError
from designer.percepnet.config import FrontEndConfig

EPS = 1e-12
N_PITCH_CANDIDATES = 6
PITCH_OCTAVE_BIAS = 0.03  # cost per octave of lag: among equal correlation peaks prefer the shortest lag


# ----------------------------------------------------------------------------- bands and window
def hz_to_erb(f_hz):
    """ERB-rate scale (Glasberg & Moore 1990): number of ERBs below f."""
    return 21.4 * np.log10(1.0 + 0.00437 * np.asarray(f_hz, dtype=float))


def erb_to_hz(erb):
    return (10.0 ** (np.asarray(erb, dtype=float) / 21.4) - 1.0) / 0.00437


def band_centres_bins(cfg: FrontEndConfig) -> np.ndarray:
    """Integer FFT-bin centres of the triangular bands: first = DC, last = Nyquist.

    Centres are uniform on the ERB scale, but never closer than `min_band_bins` bins (at the low end an
    ERB is narrower than one bin). Built from the top down so the ERB spacing is kept where it matters;
    whatever spacing is left at the bottom is linear.
    """
    n_bins, k = cfg.n_bins, cfg.n_bands
    nyq = n_bins - 1
    erb_top = hz_to_erb(cfg.sample_rate_hz / 2)
    # Choose the ERB step so that the ERB-uniform centres, with the minimum spacing enforced, use
    # exactly k centres: search the step by bisection on the count produced.
    def build(step):
        c = [nyq]
        e = erb_top
        while True:
            e -= step
            nxt = int(round(erb_to_hz(max(e, 0.0)) / (cfg.sample_rate_hz / cfg.n_fft)))
            nxt = min(nxt, c[-1] - cfg.min_band_bins)
            if nxt <= 0:
                break
            c.append(nxt)
        c.append(0)
        return c[::-1]

    lo, hi = 1e-3, erb_top
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if len(build(mid)) > k:
            lo = mid
        else:
            hi = mid
    c = build(hi)
    if len(c) != k:
        raise InputError(f"cannot place {k} bands in {n_bins} bins with min_band_bins={cfg.min_band_bins}",
                         field="n_bands")
    return np.array(c, dtype=int)


def band_matrix(cfg: FrontEndConfig) -> np.ndarray:
    """(n_bands, n_bins) triangular weights, 50 % overlap; every column sums to exactly 1.

    Band b rises linearly from centre b-1 to centre b and falls to centre b+1: the triangles are the
    linear-interpolation basis, so the same matrix pools energies (W @ |X|^2) and, transposed,
    interpolates band gains back to bins (W.T @ g).
    """
    c = band_centres_bins(cfg)
    w = np.zeros((cfg.n_bands, cfg.n_bins))
    bins = np.arange(cfg.n_bins)
    for b in range(cfg.n_bands):
        if b > 0:
            lo, mid = c[b - 1], c[b]
            sel = (bins >= lo) & (bins <= mid)
            w[b, sel] = (bins[sel] - lo) / (mid - lo)
        if b < cfg.n_bands - 1:
            mid, hi = c[b], c[b + 1]
            sel = (bins >= mid) & (bins <= hi)
            w[b, sel] = (hi - bins[sel]) / (hi - mid)
        w[b, c[b]] = 1.0
    return w


def vorbis_window(n: int) -> np.ndarray:
    """Power-complementary window: w[i]^2 + w[i + n/2]^2 = 1, so analysis+synthesis with it at 50 %
    overlap reconstructs the input exactly."""
    i = np.arange(n)
    return np.sin(0.5 * np.pi * np.sin(np.pi * (i + 0.5) / n) ** 2)


def comb_taps(cfg: FrontEndConfig) -> np.ndarray:
    """Normalised Hann taps w_k, k = -M..M (index k + M): w_k = 1 + cos(pi k / (M + 1)), sum = 1."""
    m = cfg.comb_order
    k = np.arange(-m, m + 1)
    w = 1.0 + np.cos(np.pi * k / (m + 1))
    return w / w.sum()


def comb_taps_for_period(cfg: FrontEndConfig, period: int) -> np.ndarray:
    """Taps usable at pitch period T: a future tap k < 0 reads x(n + |k| T), available only if
    |k| T <= look-ahead. Unavailable taps are dropped and the rest renormalised to sum to one
    (unit gain at the harmonics is kept; the attenuation between harmonics shrinks)."""
    m = cfg.comb_order
    w = comb_taps(cfg).copy()
    k = np.arange(-m, m + 1)
    w[(k < 0) & (-k * period > cfg.lookahead_len)] = 0.0
    return w / w.sum()


def comb_midpoint_gain_db(taps: np.ndarray) -> float:
    """Gain (dB) of the comb filter exactly half-way between two harmonics: |sum_k w_k (-1)^k|.
    With all 2M+1 Hann taps this is a perfect null; truncated taps leave a finite notch."""
    m = (len(taps) - 1) // 2
    k = np.arange(-m, m + 1)
    return float(20 * np.log10(abs(np.sum(taps * (-1.0) ** k)) + EPS))


def comb_noise_gain_db(taps: np.ndarray) -> float:
    """Designed attenuation of everything between the harmonics: the mean of |H|^2 over frequency,
    i.e. the white-noise power gain sum_k w_k^2 (Parseval). Harmonics pass with gain sum_k w_k = 1.
    M = 5 Hann taps: -8.9 dB, the paper's "~9 dB between harmonics"."""
    return float(10 * np.log10(np.sum(np.asarray(taps) ** 2)))


# ----------------------------------------------------------------------------- input checks
def check_audio(x: np.ndarray, rate_hz: int, cfg: FrontEndConfig, *, file=None) -> np.ndarray:
    """Validate input audio; returns it as float64.

    Errors (InputError): wrong sample rate, not mono, NaN/Inf, fewer samples than 3 hops.
    Stated behaviour: digital silence is processed and comes out as silence; clipped input
    (more than 0.1 % of samples at |x| >= 0.999) is processed with a warning, since clipping
    distortion is broadband and is not removed by noise suppression.
    """
    x = np.asarray(x, dtype=np.float64)
    if rate_hz != cfg.sample_rate_hz:
        raise InputError(f"sample rate is {rate_hz} Hz but the model runs at {cfg.sample_rate_hz} Hz "
                         "(resample it first; tunerig never resamples silently)", file=file)
    if x.ndim != 1:
        raise InputError("audio must be mono (one channel)", file=file)
    if not np.all(np.isfinite(x)):
        raise InputError(f"sample {int(np.flatnonzero(~np.isfinite(x))[0])} is NaN or infinite", file=file)
    min_len = 3 * cfg.hop_len
    if len(x) < min_len:
        raise InputError(f"too short: {len(x)} samples, need at least {min_len} "
                         f"({3 * cfg.hop_ms:g} ms at {cfg.sample_rate_hz} Hz)", file=file)
    clipped = np.mean(np.abs(x) >= 0.999)
    if clipped > 1e-3:
        warnings.warn(f"{file or 'input'}: {100 * clipped:.2f} % of samples are clipped; "
                      "processing anyway (clipping distortion is not removed)", stacklevel=2)
    return x


# ----------------------------------------------------------------------------- analysis
@dataclass
class Analysis:
    """Everything per frame that the features, the oracle and the synthesis need."""

    X: np.ndarray          # (F, n_bins) complex spectrum of the windowed frame
    P: np.ndarray          # (F, n_bins) complex spectrum of the windowed comb-filtered frame
    period: np.ndarray     # (F,) int pitch period in samples
    pitch_corr: np.ndarray  # (F,) normalised correlation at that period
    n_samples: int


class FrontEnd:
    """Holds the precomputed tables of one configuration (band matrix, window, taps)."""

    def __init__(self, cfg: FrontEndConfig | None = None):
        self.cfg = (cfg or FrontEndConfig()).validate()
        self.W = band_matrix(self.cfg)
        self.window = vorbis_window(self.cfg.window_len)
        c = self.cfg
        # Padded signal layout: [history for the comb/pitch | N-H zeros | x | tail zeros]
        self.hist = c.comb_order * c.pitch_max_lag + c.pitch_max_lag
        self.lead = c.window_len - c.hop_len

    # -- framing
    def n_frames(self, n_samples: int) -> int:
        """Frames needed so that every input sample is fully reconstructed."""
        return int(np.ceil((n_samples + self.lead) / self.cfg.hop_len))

    def _padded(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        c = self.cfg
        f = self.n_frames(len(x))
        tail = f * c.hop_len + c.window_len + c.comb_order * c.pitch_max_lag + c.lookahead_len
        xp = np.concatenate([np.zeros(self.hist + self.lead), x, np.zeros(tail - len(x))])
        return xp, self.hist  # frame t starts at xp[self.hist + t H]

    def _frames(self, xp, base, f, offset=0, length=None):
        c = self.cfg
        length = c.window_len if length is None else length
        idx = base + offset + np.arange(f)[:, None] * c.hop_len + np.arange(length)[None, :]
        return xp[idx]

    # -- pitch
    def pitch_correlation(self, xp, base, f) -> np.ndarray:
        """(F, n_lags) normalised correlation r(T) = <a, b_T> / sqrt(|a|^2 |b_T|^2) for T = Tmin..Tmax.

        a = the last `pitch_corr_len` samples of frame t, b_T = the same span T samples earlier.
        Computed with FFT cross-correlation in chunks of frames.
        """
        c = self.cfg
        L, tmin, tmax = c.pitch_corr_len, c.pitch_min_lag, c.pitch_max_lag
        a_off = c.window_len - L
        nfft = int(2 ** np.ceil(np.log2(L + tmax + L)))
        csum = np.concatenate([[0.0], np.cumsum(xp * xp)])
        lags = np.arange(tmin, tmax + 1)
        out = np.empty((f, len(lags)))
        chunk = 2048
        for s in range(0, f, chunk):
            ff = min(chunk, f - s)
            starts = base + a_off + (s + np.arange(ff)) * c.hop_len  # start of a in xp
            a = xp[starts[:, None] + np.arange(L)]
            buf = xp[(starts - tmax)[:, None] + np.arange(L + tmax)]  # b_T starts at tmax - T
            A = np.fft.rfft(a, nfft)
            B = np.fft.rfft(buf, nfft)
            xc = np.fft.irfft(np.conj(A) * B, nfft)  # xc[j] = sum_i a[i] buf[i + j]
            num = xc[:, tmax - lags]
            ea = csum[starts + L] - csum[starts]
            bs = starts[:, None] - lags[None, :]
            eb = csum[bs + L] - csum[bs]
            out[s:s + ff] = num / np.sqrt(ea[:, None] * eb + 1e-9 * L)
        return out

    def track_pitch(self, corr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pitch tracker: a Viterbi forward pass over the best candidate lags of each frame.

        Local cost of lag T: 1 - r(T) + PITCH_OCTAVE_BIAS * log2(T / Tmin) (the bias breaks the tie
        between a period and its multiples). Candidates: the N_PITCH_CANDIDATES lowest-cost local maxima.
        Transition cost: viterbi_jump_cost * |log2(T_t / T_(t-1))|. The decision at frame t is the
        candidate with the lowest accumulated cost at t (zero decision delay, so the streaming C version
        makes the same choice without look-ahead).
        """
        c = self.cfg
        f, n = corr.shape
        lags = np.arange(c.pitch_min_lag, c.pitch_max_lag + 1)
        cost = 1.0 - corr + PITCH_OCTAVE_BIAS * np.log2(lags / c.pitch_min_lag)[None, :]
        peak = np.zeros_like(corr, dtype=bool)
        peak[:, 1:-1] = (corr[:, 1:-1] >= corr[:, :-2]) & (corr[:, 1:-1] >= corr[:, 2:])
        masked = np.where(peak, cost, np.inf)
        nc = min(N_PITCH_CANDIDATES, n)
        cand = np.argpartition(masked, nc - 1, axis=1)[:, :nc]
        ccost = np.take_along_axis(masked, cand, axis=1)
        # frames with fewer peaks than candidates: fill with the global best lag
        best = np.argmin(cost, axis=1)
        fill = ~np.isfinite(ccost)
        cand = np.where(fill, best[:, None], cand)
        ccost = np.where(fill, cost[np.arange(f), best][:, None], ccost)
        logl = np.log2(lags[cand])
        jump = c.viterbi_jump_cost
        acc = ccost[0].copy()
        choice = np.empty(f, dtype=int)
        choice[0] = cand[0, np.argmin(acc)]
        for t in range(1, f):
            trans = acc[None, :] + jump * np.abs(logl[t][:, None] - logl[t - 1][None, :])
            acc = ccost[t] + trans.min(axis=1)
            acc -= acc.min()  # keep numbers small (only differences matter)
            choice[t] = cand[t, np.argmin(acc)]
        period = lags[choice]
        return period, corr[np.arange(f), choice]

    # -- comb filter
    def comb_frames(self, xp, base, f, period) -> np.ndarray:
        """(F, N) comb-filtered frames: p(n) = sum_k w_k x(n - k T_t) with look-ahead-truncated taps."""
        c = self.cfg
        m = c.comb_order
        w0 = comb_taps(c)
        ks = np.arange(-m, m + 1)
        # per frame taps: drop future taps beyond the look-ahead, renormalise
        avail = ~((ks[None, :] < 0) & ((-ks[None, :]) * period[:, None] > c.lookahead_len))
        w = w0[None, :] * avail
        w /= w.sum(axis=1, keepdims=True)
        out = np.zeros((f, c.window_len))
        starts = base + np.arange(f) * c.hop_len
        n = np.arange(c.window_len)
        for j, k in enumerate(ks):
            idx = (starts - k * period)[:, None] + n[None, :]
            out += w[:, j:j + 1] * xp[idx]
        return out

    def analyse(self, x: np.ndarray, period: np.ndarray | None = None) -> Analysis:
        """Spectra, pitch and comb spectra of a whole signal. `period` overrides the pitch search
        (used to analyse clean speech with the pitch found on the noisy mixture)."""
        xp, base = self._padded(np.asarray(x, dtype=float))
        f = self.n_frames(len(x))
        frames = self._frames(xp, base, f)
        X = np.fft.rfft(frames * self.window, axis=1)
        if period is None:
            corr = self.pitch_correlation(xp, base, f)
            period, pcorr = self.track_pitch(corr)
        else:
            period = np.asarray(period, dtype=int)
            corr = self.pitch_correlation(xp, base, f)
            pcorr = corr[np.arange(f), period - self.cfg.pitch_min_lag]
        P = np.fft.rfft(self.comb_frames(xp, base, f, period) * self.window, axis=1)
        return Analysis(X=X, P=P, period=period, pitch_corr=pcorr, n_samples=len(x))

    # -- band quantities
    def band_energy(self, S: np.ndarray) -> np.ndarray:
        return (np.abs(S) ** 2) @ self.W.T

    def band_coherence(self, X: np.ndarray, P: np.ndarray) -> np.ndarray:
        """Per-band normalised correlation of X with its comb-filtered version P, in [-1, 1]."""
        num = np.real(X * np.conj(P)) @ self.W.T
        return num / np.sqrt(self.band_energy(X) * self.band_energy(P) + EPS)

    def features(self, a: Analysis) -> np.ndarray:
        """(F, 2 n_bands + 2) float32 features.

        [0:K]   log10(band energy + 1e-10) of X   (energies of the full-scale-normalised FFT)
        [K:2K]  band pitch coherence of X with P
        [2K]    pitch period, (T - Tmin) / (Tmax - Tmin) - 0.5
        [2K+1]  pitch correlation r(T)
        """
        c = self.cfg
        ex = self.band_energy(a.X)
        coh = self.band_coherence(a.X, a.P)
        per = (a.period - c.pitch_min_lag) / (c.pitch_max_lag - c.pitch_min_lag) - 0.5
        return np.concatenate([np.log10(ex + 1e-10), coh, per[:, None], a.pitch_corr[:, None]],
                              axis=1).astype(np.float32)

    # -- synthesis
    def apply_gains(self, a: Analysis, gains: np.ndarray, strengths: np.ndarray,
                    postfilter: bool = True) -> np.ndarray:
        """Enhance: comb mix, band gains (post-filtered), per-bin interpolation, overlap-add.

        Returns output time-aligned with the analysed input (same length).
        """
        c = self.cfg
        g = np.clip(np.asarray(gains, dtype=float), 0.0, 1.0)
        r = np.clip(np.asarray(strengths, dtype=float), 0.0, 1.0)
        ex = self.band_energy(a.X)
        ep = self.band_energy(a.P)
        p_scale = np.sqrt(ex / (ep + EPS)) @ self.W      # P rescaled to X's band energy, per bin
        rb = r @ self.W
        Z = (1.0 - rb) * a.X + rb * (p_scale * a.P)
        ez = self.band_energy(Z)
        g = g * np.sqrt(ex / (ez + EPS))                  # gains are relative to the noisy band energy
        if postfilter:
            g = envelope_postfilter(g, ez, c.postfilter_beta)
        Y = (g @ self.W) * Z
        y = np.fft.irfft(Y, c.n_fft, axis=1)[:, :c.window_len] * self.window
        return self._overlap_add(y, a.n_samples)

    def _overlap_add(self, frames: np.ndarray, n_samples: int) -> np.ndarray:
        c = self.cfg
        f = frames.shape[0]
        out = np.zeros((f + 1) * c.hop_len)
        h = c.hop_len
        out[: f * h] += frames[:, :h].reshape(-1)
        out[h: (f + 1) * h] += frames[:, h:].reshape(-1)
        return out[self.lead: self.lead + n_samples]

    def resynthesise(self, a: Analysis) -> np.ndarray:
        """Identity path (no gains): must reproduce the input to rounding error."""
        y = np.fft.irfft(a.X, self.cfg.n_fft, axis=1)[:, :self.cfg.window_len] * self.window
        return self._overlap_add(y, a.n_samples)


def envelope_postfilter(g: np.ndarray, band_energy: np.ndarray, beta: float = 0.02) -> np.ndarray:
    """PercepNet envelope post-filter (FIELD_NOTES §1.3): g' = g sin(pi/2 g) deepens the valleys of
    the gain envelope, then a per-frame global gain G = sqrt((1+b) E0/E1 / (1 + b (E0/E1)^2)) restores
    most of the energy (E0, E1: output energies with g and g'). Output clipped to [0, 1]."""
    gw = g * np.sin(0.5 * np.pi * g)
    e0 = np.sum(g * g * band_energy, axis=-1, keepdims=True)
    e1 = np.sum(gw * gw * band_energy, axis=-1, keepdims=True)
    ratio = (e0 + EPS) / (e1 + EPS)
    big = np.sqrt((1 + beta) * ratio / (1 + beta * ratio * ratio))
    return np.clip(big * gw, 0.0, 1.0)
