"""The PercepNet-style network (Keras 3), in a sequence form for training and a streaming form for
deployment that share weights by layer name.

    features (normalised, F = 2K+2)
      -> conv over time: 3 frames (t-2, t-1, t) -> `conv` units, tanh
      -> GRU `gru1` -> GRU `gru2`
      -> gains     = sigmoid(Dense over [gru1, gru2])        (K bands)
      -> strengths = sigmoid(Dense over [conv, gru2])        (K bands)

Sequence form: Conv1D(kernel 3, causal padding) and GRU(return_sequences=True).
Streaming form (one frame per call; all state explicit, FIELD_NOTES §2):
    inputs  window (1, 3, F): the caller's buffer of the last three feature frames (oldest first);
            h1 (1, H), h2 (1, H): GRU states from the previous call (zeros at the start)
    outputs gains (1, K), strengths (1, K), h1_out, h2_out
The 3-frame window is the convolution's state; the caller shifts it (it holds only inputs, so it
needs no requantisation), and feeds h*_out back as h* (requantised to the input's int8 scale).

TensorFlow is imported inside the functions only: `import designer` never needs it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

CONV_TAPS = 3


@dataclass(frozen=True)
class ModelConfig:
    n_features: int = 66
    n_bands: int = 32
    conv_units: int = 112
    gru_units: int = 120
    weight_clip: float = 0.5
    input_noise: float = 0.0   # training only: Gaussian noise (std, normalised units) added to the features
    dropout: float = 0.0       # training only: dropout on the GRU inputs

    def to_dict(self):
        return asdict(self)


def count_params(mc: ModelConfig) -> int:
    """Weights + biases (Keras GRU reset_after: 2 bias vectors per gate)."""
    f, c, h, k = mc.n_features, mc.conv_units, mc.gru_units, mc.n_bands
    conv = CONV_TAPS * f * c + c
    gru1 = 3 * (c * h + h * h + 2 * h)
    gru2 = 3 * (h * h + h * h + 2 * h)
    heads = (2 * h) * k + k + (c + h) * k + k
    return conv + gru1 + gru2 + heads


def count_macs(mc: ModelConfig) -> int:
    """Multiply-accumulates per frame (matrix products; gate element-wise ops are ~10 H more)."""
    f, c, h, k = mc.n_features, mc.conv_units, mc.gru_units, mc.n_bands
    return CONV_TAPS * f * c + 3 * (c * h + h * h) + 3 * (h * h + h * h) + 2 * h * k + (c + h) * k


def _clip_constraint(limit):
    import keras

    @keras.saving.register_keras_serializable(package="tunerig")
    class ClipWeights(keras.constraints.Constraint):
        """Keep weights in [-limit, limit] so int8 per-channel scales stay fine-grained."""

        def __init__(self, limit=0.5):
            self.limit = float(limit)

        def __call__(self, w):
            return keras.ops.clip(w, -self.limit, self.limit)

        def get_config(self):
            return {"limit": self.limit}

    return ClipWeights(limit)


def build_sequence_model(mc: ModelConfig):
    """Training form: (batch, time, F) -> gains, strengths (batch, time, K)."""
    import keras
    from keras import layers

    clip = _clip_constraint(mc.weight_clip)
    x = keras.Input((None, mc.n_features), name="features")
    xin = layers.GaussianNoise(mc.input_noise, name="input_noise")(x) if mc.input_noise > 0 else x
    conv = layers.Conv1D(mc.conv_units, CONV_TAPS, padding="causal", activation="tanh", name="conv",
                         kernel_constraint=clip)(xin)
    g1 = layers.GRU(mc.gru_units, return_sequences=True, name="gru1", kernel_constraint=clip,
                    recurrent_constraint=clip, dropout=mc.dropout)(conv)
    g2 = layers.GRU(mc.gru_units, return_sequences=True, name="gru2", kernel_constraint=clip,
                    recurrent_constraint=clip, dropout=mc.dropout)(g1)
    gains = layers.Dense(mc.n_bands, activation="sigmoid", name="gains", kernel_constraint=clip)(
        layers.Concatenate(name="cat_g")([g1, g2]))
    strengths = layers.Dense(mc.n_bands, activation="sigmoid", name="strengths", kernel_constraint=clip)(
        layers.Concatenate(name="cat_r")([conv, g2]))
    return keras.Model(x, {"gains": gains, "strengths": strengths}, name="percepnet_seq")


def build_state_model(seq_model):
    """Sequence model that also returns the GRU outputs (= states): used to record calibration states."""
    import keras
    return keras.Model(seq_model.input, {**seq_model.output,
                                         "h1": seq_model.get_layer("gru1").output,
                                         "h2": seq_model.get_layer("gru2").output})


def build_streaming_model(mc: ModelConfig, seq_model=None):
    """Deployment form: one frame per call, explicit state in and out. Loads seq_model's weights."""
    import keras
    from keras import layers

    win = keras.Input((CONV_TAPS, mc.n_features), batch_size=1, name="window")
    h1 = keras.Input((mc.gru_units,), batch_size=1, name="h1")
    h2 = keras.Input((mc.gru_units,), batch_size=1, name="h2")
    flat = layers.Reshape((CONV_TAPS * mc.n_features,), name="flat")(win)
    conv = layers.Dense(mc.conv_units, activation="tanh", name="conv")(flat)
    c3 = layers.Reshape((1, mc.conv_units), name="step1")(conv)
    o1, s1 = layers.GRU(mc.gru_units, unroll=True, return_state=True, name="gru1")(c3, initial_state=h1)
    o1r = layers.Reshape((1, mc.gru_units), name="step2")(o1)
    o2, s2 = layers.GRU(mc.gru_units, unroll=True, return_state=True, name="gru2")(o1r, initial_state=h2)
    gains = layers.Dense(mc.n_bands, activation="sigmoid", name="gains")(layers.Concatenate(name="cat_g")([o1, o2]))
    strengths = layers.Dense(mc.n_bands, activation="sigmoid", name="strengths")(
        layers.Concatenate(name="cat_r")([conv, o2]))
    model = keras.Model([win, h1, h2], {"gains": gains, "strengths": strengths, "h1_out": s1, "h2_out": s2},
                        name="percepnet_stream")
    if seq_model is not None:
        copy_weights(seq_model, model)
    return model


def copy_weights(seq_model, stream_model) -> None:
    """Sequence -> streaming weights. Conv1D kernel (3, F, C) flattens row-major to Dense (3F, C),
    matching the Reshape of the (3, F) window (oldest frame first)."""
    for name in ("gru1", "gru2", "gains", "strengths"):
        stream_model.get_layer(name).set_weights(seq_model.get_layer(name).get_weights())
    k, b = seq_model.get_layer("conv").get_weights()
    stream_model.get_layer("conv").set_weights([k.reshape(-1, k.shape[-1]), b])


def gain_loss(y_true, y_pred):
    """PercepNet gain loss: squared and (x10) fourth-power error of g^0.5."""
    import keras.ops as K
    d = K.sqrt(K.clip(y_true, 0.0, 1.0) + 1e-8) - K.sqrt(y_pred + 1e-8)
    return K.mean(d * d) + 10.0 * K.mean(d * d * d * d)


def strength_loss(y_true, y_pred):
    """PercepNet strength loss: squared error of (1 - r)^0.5."""
    import keras.ops as K
    d = K.sqrt(1.0 - K.clip(y_true, 0.0, 1.0) + 1e-8) - K.sqrt(1.0 - y_pred + 1e-8)
    return K.mean(d * d)


def run_streaming_float(stream_model, feats_norm: np.ndarray, mc: ModelConfig):
    """Run the float streaming model frame by frame; returns gains, strengths (T, K)."""
    T = feats_norm.shape[0]
    win = np.zeros((1, CONV_TAPS, mc.n_features), np.float32)
    h1 = np.zeros((1, mc.gru_units), np.float32)
    h2 = np.zeros((1, mc.gru_units), np.float32)
    g = np.empty((T, mc.n_bands), np.float32)
    r = np.empty((T, mc.n_bands), np.float32)
    fn = stream_model  # Keras call is slow per step; use the compiled function
    import tensorflow as tf
    step = tf.function(lambda a, b, c: fn([a, b, c], training=False), reduce_retracing=True)
    for t in range(T):
        win = np.concatenate([win[:, 1:], feats_norm[None, t:t + 1]], axis=1)
        out = step(tf.constant(win), tf.constant(h1), tf.constant(h2))
        g[t] = out["gains"].numpy()[0]
        r[t] = out["strengths"].numpy()[0]
        h1 = out["h1_out"].numpy()
        h2 = out["h2_out"].numpy()
    return g, r
