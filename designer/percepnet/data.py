"""Training and test data made on this machine, no downloads, reproducible from one seed.

Speech: TTS voices (espeak-ng variants, flite, festival) speaking sentences cut from the licence texts
Debian ships in /usr/share/common-licenses, plus Debian klettres-data recordings (real voices: letters
and syllables, one speaker per language, strung into utterances).
Noise: procedural generators. Rooms: pyroomacoustics image-method responses. Random level, SNR, EQ.

The TEST split is disjoint from TRAIN in voices, klettres languages, texts AND noise types:
    TRAIN noise: coloured (white..brown), hum, fan, clicks, music, babble (train voices)
    TEST noise : car, cafe (babble of test voices + dish clatter), rain, siren
TTS and recordings are resampled to the configured rate with resample_poly here (data making only).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from scipy.signal import butter, lfilter, resample_poly, sosfilt

from designer.audio import write_wav
from designer.errors import TunerigError
from designer.percepnet.config import FrontEndConfig

TEST_SNRS_DB = (0, 5, 10, 20)
TRAIN_NOISES = ("coloured", "hum", "fan", "clicks", "music", "babble")
TEST_NOISES = ("car", "cafe", "rain", "siren")

# espeak-ng voice variants (files under espeak-ng-data/voices/!v); the test ones are never trained on.
ESPEAK_TEST_VARIANTS = ("f5", "m7", "klatt4", "Annie", "Andy", "grandma", "iven3", "norbert", "belinda", "edward2")
ESPEAK_LANGS = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp")
ESPEAK_TEST_LANGS = ("en-us-nyc", "en-gb-x-gbcwmd")
FLITE_TRAIN, FLITE_TEST = ("kal16", "awb", "rms"), ("slt",)
FESTIVAL_TRAIN, FESTIVAL_TEST = ("kal_diphone",), ("cmu_us_slt_arctic_hts",)
KLETTRES_TEST_LANGS = ("en", "en_GB", "fr", "it")
TRAIN_TEXTS = ("GPL-3", "GPL-2", "LGPL-2.1", "GFDL-1.3")
TEST_TEXTS = ("Apache-2.0", "MPL-2.0", "Artistic")


# ----------------------------------------------------------------------------- speech
def _sentences(names) -> list[str]:
    out = []
    for n in names:
        p = Path("/usr/share/common-licenses") / n
        if not p.is_file():
            continue
        txt = re.sub(r"\s+", " ", p.read_text(errors="ignore"))
        txt = re.sub(r"[^A-Za-z0-9,.;:'?! -]", " ", txt)
        for s in re.split(r"(?<=[.;:?!])\s+", txt):
            w = s.split()
            if 4 <= len(w) <= 30:
                out.append(" ".join(w))
    if not out:
        raise TunerigError("no text found in /usr/share/common-licenses (Debian base-files) for TTS")
    return out


def _espeak_variants() -> list[str]:
    for d in (Path("/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v"), Path("/usr/share/espeak-ng-data/voices/!v"),
              Path("/usr/lib/aarch64-linux-gnu/espeak-ng-data/voices/!v")):
        if d.is_dir():
            return sorted(p.name for p in d.iterdir() if p.is_file())
    return ["m1", "m2", "m3", "f1", "f2", "f3", "f4", "f5", "m7", "klatt4"]


def _read_any(path: Path) -> tuple[np.ndarray, int]:
    if path.suffix == ".ogg":
        import soundfile as sf
        x, r = sf.read(str(path), always_2d=True)
        return x.mean(axis=1), int(r)
    from designer.audio import read_wav
    return read_wav(path, mix_to_mono=True)


def _resample(x, r_in, r_out):
    if r_in == r_out:
        return x
    g = np.gcd(int(r_in), int(r_out))
    return resample_poly(x, r_out // g, r_in // g)


@dataclass
class SpeechSource:
    """Draws utterances from the voices of one split."""

    split: str
    rate_hz: int
    rng: np.random.Generator

    def __post_init__(self):
        test = self.split == "test"
        self.texts = _sentences(TEST_TEXTS if test else TRAIN_TEXTS)
        variants = _espeak_variants()
        self.espeak = ([v for v in variants if v in ESPEAK_TEST_VARIANTS] if test
                       else [v for v in variants if v not in ESPEAK_TEST_VARIANTS])
        self.langs = ESPEAK_TEST_LANGS if test else ESPEAK_LANGS
        self.flite = [v for v in (FLITE_TEST if test else FLITE_TRAIN) if shutil.which("flite")]
        fest_ok = shutil.which("text2wave") is not None
        self.festival = [v for v in (FESTIVAL_TEST if test else FESTIVAL_TRAIN)
                         if fest_ok and any(Path("/usr/share/festival/voices").glob(f"*/{v}"))]
        kroot = Path("/usr/share/klettres")
        self.klettres = {}
        if kroot.is_dir():
            for lang in sorted(p.name for p in kroot.iterdir() if p.is_dir()):
                if (lang in KLETTRES_TEST_LANGS) == test:
                    files = sorted(kroot.glob(f"{lang}/*/*.ogg"))
                    if files:
                        self.klettres[lang] = files
        if not shutil.which("espeak-ng"):
            raise TunerigError("espeak-ng is not installed (apt-get install espeak-ng)")

    def _text(self, n_sent):
        i = int(self.rng.integers(len(self.texts)))
        return " ".join(self.texts[(i + k) % len(self.texts)] for k in range(n_sent))

    def utterance(self) -> tuple[np.ndarray, str]:
        """One utterance (float at rate_hz, peak-normalised-ish) and a label of the voice used."""
        rng = self.rng
        kinds = ["espeak"] * 5 + ["flite"] * (2 if self.flite else 0) + \
                ["festival"] * (1 if self.festival else 0) + ["klettres"] * (2 if self.klettres else 0)
        kind = kinds[int(rng.integers(len(kinds)))]
        with tempfile.TemporaryDirectory() as td:
            out = Path(td) / "u.wav"
            text = self._text(int(rng.integers(1, 3)))
            if kind == "espeak":
                v = self.espeak[int(rng.integers(len(self.espeak)))]
                lang = self.langs[int(rng.integers(len(self.langs)))]
                cmd = ["espeak-ng", "-v", f"{lang}+{v}", "-s", str(int(rng.integers(130, 200))),
                       "-p", str(int(rng.integers(20, 80))), "-w", str(out), text]
                label = f"espeak:{lang}+{v}"
            elif kind == "flite":
                v = self.flite[int(rng.integers(len(self.flite)))]
                cmd = ["flite", "-voice", v, "-t", text, "-o", str(out)]
                label = f"flite:{v}"
            elif kind == "festival":
                v = self.festival[int(rng.integers(len(self.festival)))]
                tf = Path(td) / "t.txt"
                tf.write_text(text[:300])
                cmd = ["text2wave", "-eval", f"(voice_{v})", str(tf), "-o", str(out)]
                label = f"festival:{v}"
            else:
                lang = list(self.klettres)[int(rng.integers(len(self.klettres)))]
                files = self.klettres[lang]
                parts = []
                for _ in range(int(rng.integers(3, 8))):
                    x, r = _read_any(files[int(rng.integers(len(files)))])
                    x = _resample(x, r, self.rate_hz)
                    parts += [x / (np.max(np.abs(x)) + 1e-9), np.zeros(int(self.rate_hz * rng.uniform(0.05, 0.3)))]
                return np.concatenate(parts), f"klettres:{lang}"
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
            x, r = _read_any(out)
        x = _resample(x, r, self.rate_hz)
        return x / (np.max(np.abs(x)) + 1e-9), label


# ----------------------------------------------------------------------------- noise
def _coloured(rng, n, alpha):
    """1/f^alpha noise by spectral shaping of white noise."""
    w = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(w), dtype=float)
    f[0] = 1.0
    return np.fft.irfft(w / f ** (alpha / 2), n)


def _slow_am(rng, n, fs, depth):
    t = np.arange(n) / fs
    return 1.0 + depth * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 6.3))


def _tones(rng, n, fs, f0, n_harm, decay, jitter_hz=0.0):
    t = np.arange(n) / fs
    drift = jitter_hz * np.cumsum(rng.standard_normal(n)) / np.sqrt(n) if jitter_hz else 0.0
    y = np.zeros(n)
    for h in range(1, n_harm + 1):
        if h * f0 < fs / 2 * 0.9:
            y += rng.uniform(0.2, 1.0) * decay ** (h - 1) * np.sin(2 * np.pi * h * (f0 + drift) * t + rng.uniform(0, 6.3))
    return y


def _impulses(rng, n, fs, rate_hz, f_lo, f_hi, q_decay_ms):
    """Poisson clicks each through a random damped resonance (keyboard/clatter-like)."""
    y = np.zeros(n)
    k = rng.poisson(rate_hz * n / fs)
    ln = int(fs * q_decay_ms / 1000 * 5)
    t = np.arange(ln) / fs
    for pos in rng.integers(0, max(1, n - ln), size=k):
        f = rng.uniform(f_lo, f_hi)
        y[pos:pos + ln] += rng.uniform(0.2, 1.0) * np.exp(-t / (q_decay_ms / 1000)) * np.sin(2 * np.pi * f * t)
    return y


def make_noise(kind: str, n: int, fs: int, rng: np.random.Generator, speech: SpeechSource | None = None) -> np.ndarray:
    """One noise signal of `kind` (see TRAIN_NOISES / TEST_NOISES), n samples, unit RMS."""
    if kind == "coloured":
        y = _coloured(rng, n, rng.uniform(0.0, 2.0)) * _slow_am(rng, n, fs, rng.uniform(0, 0.5))
    elif kind == "hum":
        y = _tones(rng, n, fs, rng.choice([50.0, 60.0]) * rng.uniform(0.98, 1.02), 40, rng.uniform(0.7, 0.95))
        y = y / np.std(y) + rng.uniform(0.05, 0.3) * _coloured(rng, n, 1.0) / 30
    elif kind == "fan":
        sos = butter(2, [rng.uniform(100, 400), rng.uniform(1500, min(6000, fs / 2.2))], "bandpass", fs=fs, output="sos")
        y = sosfilt(sos, rng.standard_normal(n))
        y = y / np.std(y) + rng.uniform(0.1, 0.6) * _tones(rng, n, fs, rng.uniform(80, 300), 6, 0.5, 0.5) / 2
    elif kind == "clicks":
        y = _impulses(rng, n, fs, rng.uniform(2, 15), 800, min(6000, fs / 2.5), rng.uniform(1, 6))
        y = y / (np.std(y) + 1e-9) + 0.05 * rng.standard_normal(n)
    elif kind == "music":
        y = np.zeros(n)
        pos = 0
        while pos < n:
            dur = int(fs * rng.uniform(0.15, 0.8))
            seg = min(dur, n - pos)
            env = np.minimum(1.0, np.arange(seg) / (0.01 * fs)) * np.exp(-np.arange(seg) / (fs * rng.uniform(0.1, 0.6)))
            root = 110.0 * 2 ** (rng.integers(0, 24) / 12)
            for iv in rng.choice([0, 3, 4, 7, 10, 12], size=int(rng.integers(1, 4)), replace=False):
                y[pos:pos + seg] += env * _tones(rng, seg, fs, root * 2 ** (iv / 12), 8, rng.uniform(0.4, 0.8))
            pos += int(dur * rng.uniform(0.5, 1.0))
    elif kind in ("babble", "cafe"):
        if speech is None:
            raise TunerigError("babble needs a speech source")
        y = np.zeros(n)
        for _ in range(int(rng.integers(3, 8))):
            off = int(rng.integers(0, max(1, n // 3)))
            while off < n:
                u, _ = speech.utterance()
                m = min(len(u), n - off)
                y[off:off + m] += u[:m] * rng.uniform(0.5, 1.0)
                off += m + int(fs * rng.uniform(0, 0.5))
        if kind == "cafe":
            clatter = _impulses(rng, n, fs, rng.uniform(1, 5), 2000, min(7000, fs / 2.3), rng.uniform(5, 30))
            y = y / (np.std(y) + 1e-9) + rng.uniform(0.2, 0.6) * clatter / (np.std(clatter) + 1e-9)
    elif kind == "car":
        b, a = butter(2, rng.uniform(80, 300), "lowpass", fs=fs)
        rumble = lfilter(b, a, _coloured(rng, n, 1.5))
        t = np.arange(n) / fs
        rpm_hz = rng.uniform(25, 60) * (1 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.02, 0.1) * t))
        phase = 2 * np.pi * np.cumsum(rpm_hz) / fs
        engine = sum(0.6 ** h * np.sin(h * phase) for h in range(1, 8))
        wind = sosfilt(butter(2, [500, min(4000, fs / 2.2)], "bandpass", fs=fs, output="sos"), rng.standard_normal(n))
        y = rumble / np.std(rumble) + 0.4 * engine / np.std(engine) + 0.2 * wind / np.std(wind)
    elif kind == "rain":
        drops = _impulses(rng, n, fs, rng.uniform(200, 800), 1500, min(7500, fs / 2.2), rng.uniform(0.3, 1.5))
        hiss = sosfilt(butter(2, 1000, "highpass", fs=fs, output="sos"), rng.standard_normal(n))
        y = drops / (np.std(drops) + 1e-9) + 0.5 * hiss / np.std(hiss) * _slow_am(rng, n, fs, 0.3)
    elif kind == "siren":
        t = np.arange(n) / fs
        lo, hi = rng.uniform(500, 800), rng.uniform(1000, 1600)
        f = lo + (hi - lo) * 0.5 * (1 + np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t))
        ph = 2 * np.pi * np.cumsum(f) / fs
        y = sum(0.5 ** h * np.sin((h + 1) * ph) for h in range(4))
        y = y * _slow_am(rng, n, fs, 0.5) + 0.1 * _coloured(rng, n, 1.0) / 30
    else:
        raise TunerigError(f"unknown noise type '{kind}'")
    y = y - np.mean(y)
    return y / (np.std(y) + 1e-12)


# ----------------------------------------------------------------------------- rooms and EQ
def make_rirs(count: int, fs: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Image-method room responses (pyroomacoustics shoebox), RT60 0.15-0.6 s, direct path first."""
    try:
        import pyroomacoustics as pra
    except ImportError as exc:
        raise TunerigError("room responses need pyroomacoustics (pip install pyroomacoustics)") from exc
    rirs = []
    for _ in range(count):
        dims = np.array([rng.uniform(3, 9), rng.uniform(3, 7), rng.uniform(2.4, 3.5)])
        rt60 = rng.uniform(0.15, 0.6)
        e_abs, max_order = pra.inverse_sabine(rt60, dims)
        room = pra.ShoeBox(dims, fs=fs, materials=pra.Material(e_abs), max_order=min(max_order, 12))
        src = dims * rng.uniform(0.2, 0.8, 3)
        mic = dims * rng.uniform(0.2, 0.8, 3)
        room.add_source(src)
        room.add_microphone(mic)
        room.compute_rir()
        h = np.asarray(room.rir[0][0], float)
        h = h[int(np.argmax(np.abs(h))) - 8 if np.argmax(np.abs(h)) >= 8 else 0:]
        rirs.append(h / np.max(np.abs(h)))
    return rirs


def random_eq(x: np.ndarray, fs: int, rng: np.random.Generator) -> np.ndarray:
    """Microphone/channel colouration: a random high-pass plus 1-3 random peaking filters (+-8 dB)."""
    y = sosfilt(butter(2, rng.uniform(30, 200), "highpass", fs=fs, output="sos"), x)
    for _ in range(int(rng.integers(1, 4))):
        f0 = np.exp(rng.uniform(np.log(150), np.log(fs * 0.4)))
        gain = 10 ** (rng.uniform(-8, 8) / 40)
        w0 = 2 * np.pi * f0 / fs
        alpha = np.sin(w0) / (2 * rng.uniform(0.5, 2.0))
        b = [1 + alpha * gain, -2 * np.cos(w0), 1 - alpha * gain]
        a = [1 + alpha / gain, -2 * np.cos(w0), 1 - alpha / gain]
        y = lfilter(b, a, y)
    return y


# ----------------------------------------------------------------------------- mixtures
def active_power(clean: np.ndarray, frame: int = 160, floor_db: float = -40.0) -> float:
    """Mean power of the speech-active frames (frame power within floor_db of the loudest frame):
    SNRs are stated against active speech, so pauses do not inflate them."""
    n = len(clean) // frame
    p = np.mean(clean[: n * frame].reshape(n, frame) ** 2, axis=1)
    act = p > p.max() * 10 ** (floor_db / 10)
    return float(np.mean(p[act])) if np.any(act) else 1e-20


def make_mixture(speech: SpeechSource, noise_kinds, fs: int, seconds: float, rng: np.random.Generator,
                 rirs, snr_db: float | None = None):
    """(clean, noise, info): utterances with pauses, optional room, random EQ, level and SNR.

    The clean target is the (reverberant, EQ'd) speech: the network removes noise, not reverberation.
    """
    n = int(seconds * fs)
    clean = np.zeros(n)
    pos = int(fs * rng.uniform(0.0, 0.8))
    voices = []
    while pos < n:
        u, label = speech.utterance()
        voices.append(label)
        u = u * rng.uniform(0.4, 1.0)
        m = min(len(u), n - pos)
        clean[pos:pos + m] += u[:m]
        pos += m + int(fs * rng.uniform(0.2, 1.2))
    if rirs and rng.uniform() < 0.5:
        h = rirs[int(rng.integers(len(rirs)))]
        clean = np.convolve(clean, h)[:n] / np.sqrt(np.sum(h ** 2))
    kind = noise_kinds[int(rng.integers(len(noise_kinds)))]
    noise = make_noise(kind, n, fs, rng, speech)
    if snr_db is None:
        snr_db = rng.uniform(-5, 30)
    # identical channel colouration for speech and noise (they share the microphone), applied before
    # the SNR is set so the stated SNR is the SNR of the files
    eq_seed = int(rng.integers(2**63))
    clean = random_eq(clean, fs, np.random.default_rng(eq_seed))
    noise = random_eq(noise, fs, np.random.default_rng(eq_seed))
    noise *= np.sqrt(active_power(clean) / (np.mean(noise ** 2) + 1e-20) / 10 ** (snr_db / 10))
    level_db = rng.uniform(-40, -12)
    peak_ok = 0.95
    g = 10 ** (level_db / 20) / (np.sqrt(np.mean((clean + noise) ** 2)) + 1e-12)
    g = min(g, peak_ok / (np.max(np.abs(clean + noise)) + 1e-12))
    return clean * g, noise * g, {"noise": kind, "snr_db": float(snr_db), "voices": voices, "level_db": level_db}


def _train_chunk(args):
    """Worker: features and targets for a range of training sequences (each seeded by its index)."""
    seed, start, count, cfg_dict, seconds, rirs = args
    from designer.percepnet.frontend import FrontEnd
    from designer.percepnet.oracle import oracle_targets
    cfg = FrontEndConfig.from_dict(cfg_dict)
    fe = FrontEnd(cfg)
    feats, targs = [], []
    for i in range(start, start + count):
        rng = np.random.default_rng([seed, 1, i])
        sp = SpeechSource("train", cfg.sample_rate_hz, rng)
        clean, noise, _ = make_mixture(sp, TRAIN_NOISES, cfg.sample_rate_hz, seconds, rng, rirs)
        a, g, r = oracle_targets(fe, clean, noise)
        f = fe.features(a)
        t = int(seconds * cfg.sample_rate_hz) // cfg.hop_len
        feats.append(f[:t])
        targs.append(np.concatenate([g, r], axis=1)[:t].astype(np.float32))
    return np.stack(feats), np.stack(targs)


def build_test_set(out_dir, seed: int = 1, cfg: FrontEndConfig | None = None, files_per_snr: int = 16,
                   seconds: float = 6.0, progress: bool = True) -> Path:
    """Held-out test WAVs: DIR/test/snrSS_III_{clean,noise,noisy}.wav (float32) + manifest.json.
    Test voices, texts and noise types are disjoint from training (see the module docstring)."""
    from tqdm import tqdm

    cfg = (cfg or FrontEndConfig()).validate()
    fs = cfg.sample_rate_hz
    rirs = make_rirs(8, fs, np.random.default_rng([seed, 11]))
    tdir = Path(out_dir) / "test"
    manifest = []
    items = [(snr, i) for snr in TEST_SNRS_DB for i in range(files_per_snr)]
    for snr, i in tqdm(items, desc="test set", disable=not progress):
        rng = np.random.default_rng([seed, 2, snr, i])
        sp = SpeechSource("test", fs, rng)
        kinds = (TEST_NOISES[i % len(TEST_NOISES)],)  # balanced over the test noise types
        clean, noise, info = make_mixture(sp, kinds, fs, seconds, rng, rirs, snr_db=snr)
        stem = f"snr{snr:02d}_{i:03d}"
        write_wav(tdir / f"{stem}_clean.wav", clean, fs, "float32")
        write_wav(tdir / f"{stem}_noise.wav", noise, fs, "float32")
        write_wav(tdir / f"{stem}_noisy.wav", clean + noise, fs, "float32")
        manifest.append({"stem": stem, **info})
    (tdir / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return tdir


def build_train_set(out_dir, seed: int = 1, cfg: FrontEndConfig | None = None, minutes: float = 60.0,
                    seq_seconds: float = 10.0, workers: int = 2, progress: bool = True) -> Path:
    """DIR/train.npz: features (N, T, 2K+2) and oracle targets (N, T, 2K) [gains | strengths]."""
    from tqdm import tqdm

    cfg = (cfg or FrontEndConfig()).validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rirs = make_rirs(24, cfg.sample_rate_hz, np.random.default_rng([seed, 10]))
    n_seq = max(1, int(round(minutes * 60 / seq_seconds)))
    per = 4
    cd = cfg.to_dict()
    cd.pop("derived")
    jobs = [(seed, s, min(per, n_seq - s), cd, seq_seconds, rirs) for s in range(0, n_seq, per)]
    feats, targs = [], []
    with Pool(workers) as pool, tqdm(total=n_seq, desc="train sequences", disable=not progress) as bar:
        for f, t in pool.imap(_train_chunk, jobs):
            feats.append(f)
            targs.append(t)
            bar.update(len(f))
    np.savez(out / "train.npz", features=np.concatenate(feats), targets=np.concatenate(targs))
    cfg.save(out / "frontend.json")
    return out / "train.npz"


def build_dataset(out_dir, seed: int = 1, cfg: FrontEndConfig | None = None, train_minutes: float = 60.0,
                  seq_seconds: float = 10.0, test_files_per_snr: int = 16, test_seconds: float = 6.0,
                  workers: int = 2, progress: bool = True, test_only: bool = False) -> Path:
    """The test set and the training features, everything following from `seed`: every training
    sequence and test file draws from its own generator seeded with (seed, split, index), so the
    result does not depend on worker scheduling."""
    cfg = (cfg or FrontEndConfig()).validate()
    out = Path(out_dir)
    build_test_set(out, seed, cfg, test_files_per_snr, test_seconds, progress)
    if not test_only:
        build_train_set(out, seed, cfg, train_minutes, seq_seconds, workers, progress)
    cfg.save(out / "frontend.json")
    (out / "dataset.json").write_text(json.dumps({
        "seed": seed, "train_minutes": train_minutes, "seq_seconds": seq_seconds,
        "test_files_per_snr": test_files_per_snr, "test_seconds": test_seconds,
        "train_noises": TRAIN_NOISES, "test_noises": TEST_NOISES,
        "espeak_test_variants": ESPEAK_TEST_VARIANTS, "klettres_test_langs": KLETTRES_TEST_LANGS,
        "train_texts": TRAIN_TEXTS, "test_texts": TEST_TEXTS}, indent=1))
    return out
