"""Running a SELD model on recordings, as the paper evaluates it.

Protocol (Phan et al., DCASE 2020): the DCASE 2020 features of the whole recording are
normalised by the package's scaler, cut into 2 s segments (100 feature frames) without
overlap (the last one zero-padded in normalised space), each segment goes through the
network on its own, and a class is active in a 100 ms label frame when its SED output
exceeds the threshold (0.5); no post-processing. The output covers ``ceil(T / 5)`` label
frames for ``T = ceil(N / 480)`` feature frames.

Test-time rotations (``rotations=`` here): the features are also run turned by each map of
a set of exact sound-field rotations (:mod:`core.spatial.rotations`), each DOA output is
turned back, and the SED and DOA outputs are averaged before the threshold. The default
(``rotations=None``) is :data:`DEFAULT_ROTATIONS`, 1: no rotation, the paper's protocol
exactly, and the fast mode of ``seld infer``, ``seld eval`` and the app. ``rotations=
"accurate"`` (:data:`ACCURATE`) runs the package's ``rotations`` (the set its maker
recommends for accuracy: 16 for the bundled FOA model, 8 for MIC); an integer runs that
set. The network's work grows with the number of maps; the whole run costs about
:data:`~core.inference.modes.ROTATION_COST` times the fast one (:mod:`core.inference.modes`).

Memory: a recording up to ``chunk_segments`` segments long (1 minute by default) is
processed whole; so is a file whose features take up to :data:`ONE_PASS_FEATURE_BYTES`
(about 18 minutes of FOA) when the chunking is the default: it is read and featured in one
pass (:func:`file_features`). A longer one (or any longer one, with an explicit
``chunk_segments``) is streamed in two passes, so that memory stays bounded by one chunk
however long the file is:

1. the audio is read block by block and the mel power of every frame is computed only to
   find each log-mel channel's maximum (the 80 dB floor of the log-mel features is
   relative to the maximum over the whole file);
2. the audio is read again chunk by chunk (whole 2 s segments, with 512 samples of context
   on both sides and the reflection padding only at the true file edges), the features of
   the chunk are computed with that floor, normalised and run through the network.

Both give the same features and outputs as processing the whole file at once (to float
rounding). :func:`predict_steps` is the work as a job of the :mod:`core.common.progress`
protocol (a :class:`~core.common.progress.Progress` after each chunk and each batch of
segments, where a consumer may stop it); :func:`predict` its callback form
(``progress(done, total, stage)``, ``cancel()``).

The recording's format is never assumed: it is the one a caller declares (``fmt=``, the
CLI's ``--format``, the GUI's choice, a :class:`~core.io.audio.Recording`'s), else the one its
path names (a ``foa_*`` / ``mic_*`` folder), else the bundled demo recording's; a recording
of unknown format, or of another format than the model's, is refused. No result is ever
made of non-finite numbers: NaN or infinite features, normalised features or network
outputs are refused with an error naming the recording or the model.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.common.errors import AudioError, ModelError, SeldError
from core.common.progress import CancelFn, Job, Progress, ProgressFn, run_job
from core.dsp.features import (
    AMIN,
    FEATURE_CHANNELS,
    HOP,
    N_FFT,
    N_MELS,
    TOP_DB,
    FeatureScaler,
    extract_features,
    frame_features,
    log_mel,
    n_frames,
)
from core.inference.modes import ACCURATE as ACCURATE
from core.inference.modes import DEFAULT_ROTATIONS as DEFAULT_ROTATIONS
from core.inference.modes import ROTATION_COST as ROTATION_COST
from core.inference.modes import rotation_cost_text as rotation_cost_text
from core.io.audio import FORMATS, TARGET_RATE, Recording, infer_format, iter_blocks, load_recording, probe
from core.io.recording import RecordingLike
from core.labels.table import LABEL_HOP_S, LabelTable
from core.spatial.rotations import Rotation, rotation_set

if TYPE_CHECKING:  # core.packages.runtime imports torch; `seld features` streams without it
    from core.packages.schema import PackageMeta

SEGMENT_FRAMES = 100
"""Feature frames (20 ms) per evaluation segment: 2 s."""
LABEL_RESOLUTION = 5
"""Feature frames per 100 ms label frame."""
DEFAULT_CHUNK_SEGMENTS = 30
"""Segments per chunk of a streamed recording (1 minute); recordings up to this long go whole."""
ONE_PASS_FEATURE_BYTES = 96 * 2**20
"""A file whose features take up to this (float32: FOA ~18 min, MIC ~12 min) is read once and
featured whole (:func:`file_features`), with the default chunking; a longer one is streamed in
two passes with memory bounded by a chunk (the STFT of every frame is then computed twice)."""
READ_BLOCK_SAMPLES = 10 * 24000
"""Samples per block read from a file while streaming (10 s)."""
BACKENDS = ("auto", "torch", "onnx")

_PAD = N_FFT // 2


class InferenceModel(Protocol):
    """What :func:`predict` needs: the package metadata, its scaler and a batch runner."""

    meta: PackageMeta
    scaler: FeatureScaler
    backend: str

    def run(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class Prediction:
    """Frame-wise outputs of one recording: ``sed (T, K)`` in [0, 1] and ``doa (T, 3K)`` in [-1, 1]."""

    sed: np.ndarray
    doa: np.ndarray
    classes: tuple[str, ...]
    hop_s: float = LABEL_HOP_S
    threshold: float = 0.5
    fmt: str = "foa"
    source: str | None = None
    rotations: int = 1

    @property
    def n_frames(self) -> int:
        """Label frames (100 ms): ``ceil(T / 5)`` for ``T`` feature frames."""
        return int(self.sed.shape[0])

    @property
    def duration_s(self) -> float:
        """Time covered by the label frames (the recording rounded up to 100 ms)."""
        return self.n_frames * self.hop_s


def prediction_to_table(pred: Prediction, threshold: float | None = None) -> LabelTable:
    """The DCASE 2020 label rows (polar degrees) of a prediction; ``threshold`` defaults to the package's."""
    from core.labels.targets import events_from_outputs

    thr = pred.threshold if threshold is None else float(threshold)
    return events_from_outputs(pred.sed, pred.doa, threshold=thr, fmt="dcase2020")


# --------------------------------------------------------------------------- rotations


def inference_rotations(meta: PackageMeta, requested: int | str | None = None) -> tuple[Rotation, ...]:
    """The rotation set to run a model with.

    ``None``: :data:`DEFAULT_ROTATIONS` (1, no test-time rotation); :data:`ACCURATE`: the
    package's ``rotations``; an integer: that set (1, 4, 8, 16 for FOA; 1, 4, 8 for MIC).
    """
    if requested is None:
        n = DEFAULT_ROTATIONS
    elif isinstance(requested, str):
        if requested != ACCURATE:
            raise SeldError(f"rotations must be a number or {ACCURATE!r}, not {requested!r}")
        n = meta.rotations
    else:
        n = requested
    return rotation_set(n, meta.fmt)


# --------------------------------------------------------------------------- opening a model


def default_backend(device: str | None = "auto") -> str:
    """The fastest backend for ``device``: onnxruntime on the CPU, torch on a GPU.

    ``"cpu"``, or ``"auto"`` on a machine without a GPU (:func:`core.common.optional.may_have_gpu`), is decided
    without importing torch. Where torch is missing (the lean desktop bundle) it is always
    onnxruntime.
    """
    from core.common import optional

    key = "auto" if device is None else str(device).strip().lower()
    if key == "cpu" or (key == "auto" and not optional.may_have_gpu()) or not optional.torch_available():
        return "onnx"
    from core.packages.devices import resolve_device

    return "onnx" if resolve_device(device).type == "cpu" else "torch"


def open_model(
    path: str | os.PathLike[str],
    *,
    backend: str = "auto",
    device: str | None = "auto",
    threads: int | None = None,
) -> InferenceModel:
    """Open a ``.safetensors`` package (either backend) or an exported ``.onnx`` file (onnx backend).

    ``backend="auto"`` picks :func:`default_backend`. A package opened with the onnx backend
    runs its graph from the user's cache (:mod:`core.packages.onnx_cache`, keyed by the
    package's sha256): once cached, neither torch nor the exporter is imported; the first
    time (or after the package changed) it is exported and cached (~2.5 s with torch's import).
    """
    from core.packages.onnx_export import OnnxModel

    if backend not in BACKENDS:
        raise SeldError(f"unknown backend {backend!r}; expected one of {', '.join(BACKENDS)}")
    p = os.fspath(path)
    is_onnx = p.lower().endswith(".onnx")
    if is_onnx:
        if backend == "torch":
            raise ModelError("is an ONNX model; it runs with the onnx backend only", p)
        return OnnxModel(p, device=device, threads=threads)
    if backend == "auto":
        backend = default_backend(device)
    if backend == "torch":
        from core.packages.runtime import load_package

        return load_package(p, device=device)
    from core.packages.onnx_cache import open_cached_onnx

    return open_cached_onnx(p, device=device, threads=threads)


# --------------------------------------------------------------------------- chunked features


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block's numpy matrix products on the calling thread only.

    The feature extraction's small mel projections gain nothing from OpenBLAS's worker
    threads, and those threads keep spinning for tens of milliseconds after each product,
    stealing the cores from the network that runs next (on 2 cores: ~50 ms per minute of
    audio). Uses ``threadpoolctl`` when it is installed; otherwise does nothing.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _chunk_features(padded: np.ndarray, n: int, fmt: str, peak: np.ndarray | None) -> np.ndarray:
    """Features ``(C, n, 64)`` of a padded chunk; with ``peak=None`` only the mel power ``(4, n, 64)``.

    :func:`core.dsp.features.frame_features` computes every frame from its own samples only, so
    the values equal the whole-file ones; the log-mel floor uses the file's per-channel peak.
    """
    with single_threaded_blas():
        power, rest = frame_features(padded, n, None if peak is None else fmt, workers=1)
    if peak is None:
        return power
    out = np.empty((FEATURE_CHANNELS[fmt], n, N_MELS), dtype=np.float32)
    out[:4] = log_mel(power, peak)
    out[4:] = rest
    return out


def _blocks_of_array(samples: np.ndarray, block: int) -> Iterator[tuple[int, np.ndarray]]:
    for s in range(0, samples.shape[1], block):
        yield s, samples[:, s : s + block]


def _padded_chunks(
    blocks: Iterator[tuple[int, np.ndarray]], chunk_frames: int
) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(f0, f1, padded)`` for frames ``[f0, f1)`` from a stream of sample blocks.

    ``padded`` is the signal reflect-padded by 512 at the true edges only, from padded
    position ``480 f0`` on: the samples ``[480 f0 - 512, 480 f1 + 512)`` of the file. The
    total length is learnt when the stream ends.
    """
    pending: list[np.ndarray] = []
    buf = np.zeros((4, 0), dtype=np.float32)
    start = 0  # file index of buf[:, 0]
    total: int | None = None
    f0 = 0
    while True:
        f1 = f0 + chunk_frames
        want = HOP * f1 + _PAD
        while total is None and start + buf.shape[1] + sum(b.shape[1] for b in pending) < want:
            nxt = next(blocks, None)
            if nxt is None:
                total = start + buf.shape[1] + sum(b.shape[1] for b in pending)
            else:
                pending.append(nxt[1])
        if pending:
            buf = np.concatenate([buf, *pending], axis=1)
            pending = []
        n_all = start + buf.shape[1]
        if total is not None:
            f1 = min(f1, n_frames(total))
            if f0 >= f1:
                return
        lo = max(0, HOP * f0 - _PAD)
        hi = min(n_all, want)
        seg = buf[:, lo - start : hi - start]
        pad_left = _PAD if f0 == 0 else 0
        pad_right = _PAD if total is not None and want > total else 0
        if pad_left or pad_right:
            seg = np.pad(seg, ((0, 0), (pad_left, pad_right)), mode="reflect")
        yield f0, f1, seg
        f0 = f1
        drop = max(0, HOP * f0 - _PAD - start)
        buf = buf[:, drop:]
        start += drop


# --------------------------------------------------------------------------- predict


class _Units:
    """Counts a job's units of work and makes its :class:`Progress` reports (``done`` capped at ``total``)."""

    def __init__(self, total: int):
        self.total, self.done = max(1, total), 0

    def step(self, units: int, stage: str) -> Progress:
        self.done = min(self.total, self.done + units)
        return Progress(self.done, self.total, stage)


def _first_bad(values: np.ndarray) -> tuple[int, tuple[int, ...]]:
    """(how many values are NaN/Inf, the index of the first) of an array known to hold some."""
    bad = ~np.isfinite(values)
    return int(bad.sum()), tuple(int(i) for i in np.argwhere(bad)[0])


def check_features_finite(feats: np.ndarray, source: str | None = None) -> None:
    """Refuse features ``(C, T, 64)`` holding NaN or Inf (:class:`AudioError` naming ``source``).

    The readers refuse non-finite and absurdly loud samples, so this does not happen for a
    file; it guards every other way in (arrays, a future feature definition).
    """
    if np.isfinite(feats).all():
        return
    n, (ch, frame, band) = _first_bad(feats)
    raise AudioError(
        f"its features contain {n} NaN or infinite values (the first at {frame * HOP / TARGET_RATE:.2f} s, "
        f"feature channel {ch + 1}, band {band + 1}); no result is made of them",
        source,
    )


def _model_name(model: InferenceModel) -> str:
    return str(getattr(model, "path", None) or "the model")


def _check_outputs(
    model: InferenceModel, batch: np.ndarray, sed: np.ndarray, doa: np.ndarray, source: str | None
) -> None:
    """The network's outputs must have the shapes the package declares and be finite."""
    k = len(model.meta.classes)
    want_sed = (batch.shape[0], batch.shape[2] // LABEL_RESOLUTION, k)
    want_doa = (*want_sed[:2], 3 * k)
    if tuple(np.shape(sed)) != want_sed or tuple(np.shape(doa)) != want_doa:
        raise ModelError(
            f"the network's outputs have shapes sed {tuple(np.shape(sed))}, doa {tuple(np.shape(doa))} but its "
            f"metadata ({k} classes) needs {want_sed} and {want_doa}",
            _model_name(model),
        )
    on = f" on {source}" if source else ""
    for name, out in (("detection (sed)", sed), ("direction (doa)", doa)):
        _refuse_non_finite(
            out,
            f"the network produced {{n}} NaN or infinite {name} outputs{on} (damaged weights or feature "
            "scaler?); no result is made of them",
            model,
        )


def _refuse_non_finite(values: np.ndarray, problem: str, model: InferenceModel) -> None:
    """A :class:`ModelError` naming the model when ``values`` hold NaN/Inf (``{n}`` in ``problem``: how many)."""
    if not np.isfinite(values).all():
        n, _ = _first_bad(values)
        raise ModelError(problem.format(n=n), _model_name(model))


def _segment_batches(features: np.ndarray) -> np.ndarray:
    """``(C, T, F)`` -> ``(ceil(T / 100), C, 100, F)`` float32 segments, the last zero-padded.

    As :func:`core.data.training_data.segment_batches`, which imports torch (training code).
    """
    c, t, f = features.shape
    n = -(-t // SEGMENT_FRAMES)
    padded = np.zeros((c, n * SEGMENT_FRAMES, f), dtype=np.float32)
    padded[:, :t] = features
    return np.ascontiguousarray(padded.reshape(c, n, SEGMENT_FRAMES, f).transpose(1, 0, 2, 3))


def _merge_segments(outputs: np.ndarray, n_label_frames: int) -> np.ndarray:
    """Per-segment outputs ``(n, L, K)`` joined in time and cropped to ``(n_label_frames, K)``."""
    n, length, k = outputs.shape
    return outputs.reshape(n * length, k)[:n_label_frames]


def rotated_outputs(
    model: InferenceModel,
    feats: np.ndarray,
    rotations: tuple[Rotation, ...] = (Rotation(),),
    batch_segments: int = 16,
    source: str | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The network's ``(sed, doa)`` on raw features ``(C, T, 64)`` turned by each map, each DOA turned back.

    Per map: the features are turned, normalised by the model's scaler and cut into 2 s
    segments, which run in batches; the outputs are joined to ``ceil(T / 5)`` label frames
    and the DOA output is turned back by the inverse map (:mod:`core.spatial.rotations`).
    Non-finite features (:class:`AudioError` naming ``source``, the recording), normalised
    features or outputs, and outputs of the wrong shape (:class:`ModelError` naming the
    model) are refused.
    """
    return run_job(_rotated_outputs_steps(model, feats, rotations, batch_segments, _Units(1), source))


def _rotated_outputs_steps(
    model: InferenceModel,
    feats: np.ndarray,
    rotations: tuple[Rotation, ...],
    batch_segments: int,
    units: _Units,
    source: str | None = None,
) -> Job[list[tuple[np.ndarray, np.ndarray]]]:
    """:func:`rotated_outputs` as a job: a ``"detecting"`` :class:`Progress` after each batch of segments."""
    check_features_finite(feats, source)
    n_lab = -(-feats.shape[1] // LABEL_RESOLUTION)
    outputs = []
    for rotation in rotations:
        turned = feats if rotation == Rotation() else rotation.apply_to_features(feats)
        normalised = model.scaler.transform(turned)
        of = f" of {source}" if source else ""
        _refuse_non_finite(
            normalised,
            f"its feature scaler turns the features{of} into {{n}} NaN or infinite values; no result is made of them",
            model,
        )
        x = _segment_batches(normalised)
        seds, doas = [], []
        for b0 in range(0, x.shape[0], batch_segments):
            batch = x[b0 : b0 + batch_segments]
            sed, doa = model.run(batch)
            _check_outputs(model, batch, sed, doa, source)
            seds.append(sed)
            doas.append(doa)
            yield units.step(batch.shape[0], "detecting")
        sed = _merge_segments(np.concatenate(seds), n_lab)
        doa = rotation.inverse().apply_to_doa(_merge_segments(np.concatenate(doas), n_lab))
        outputs.append((sed, doa))
    return outputs


def average_outputs(outputs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The mean SED and DOA of several runs (one run: returned as it is)."""
    if len(outputs) == 1:
        return outputs[0]
    return np.mean([o[0] for o in outputs], axis=0), np.mean([o[1] for o in outputs], axis=0)


def stream_features(
    source: RecordingLike | np.ndarray | str | os.PathLike[str],
    fmt: str,
    *,
    chunk_segments: int = DEFAULT_CHUNK_SEGMENTS,
    on_scan: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Unnormalised features of a recording in chunks, by the two-pass method: ``(f0, (C, n, 64))``.

    ``source`` is a recording, a 24 kHz ``(4, N)`` array or a file (read with ``fmt``).
    ``on_scan(frames)`` is called after each chunk of the first pass. The chunks
    concatenated equal :func:`core.dsp.features.extract_features` of the whole signal.
    """
    for kind, f0, value in _two_pass_chunks(source, fmt, chunk_segments):
        if kind == "scan":
            if on_scan is not None:
                on_scan(f0)
        else:
            yield f0, value  # type: ignore[misc]


def _two_pass_chunks(
    source: RecordingLike | np.ndarray | str | os.PathLike[str], fmt: str, chunk_segments: int
) -> Iterator[tuple[str, int, np.ndarray | None]]:
    """:func:`stream_features` with the first pass in the stream: ``("scan", frames, None)`` after
    each chunk of the first pass, then ``("chunk", f0, features)``."""
    if fmt not in FEATURE_CHANNELS:
        raise SeldError(f"unknown recording format {fmt!r}; expected 'foa' or 'mic'")
    chunk_frames = SEGMENT_FRAMES * max(1, int(chunk_segments))
    block = min(chunk_frames * HOP, READ_BLOCK_SAMPLES)

    def blocks() -> Iterator[tuple[int, np.ndarray]]:
        if isinstance(source, Recording):
            return _blocks_of_array(source.samples, block)
        if isinstance(source, np.ndarray):
            return _blocks_of_array(source, block)
        if isinstance(source, RecordingLike):  # read on demand (a long file, FuMa converted)
            return source.blocks(block_seconds=block / TARGET_RATE)
        return iter_blocks(source, block_seconds=block / TARGET_RATE, fmt=fmt)

    peak = np.full(4, -np.inf)
    for f0, f1, padded in _padded_chunks(blocks(), chunk_frames):
        power = _chunk_features(padded, f1 - f0, fmt, None)
        peak = np.maximum(peak, power.reshape(4, -1).max(axis=1))
        yield "scan", f1 - f0, None
    peak_db = 10.0 * np.log10(np.maximum(AMIN, peak))
    for f0, f1, padded in _padded_chunks(blocks(), chunk_frames):
        yield "chunk", f0, _chunk_features(padded, f1 - f0, fmt, peak_db)


FEATURE_THREADS = 2
"""Threads of :func:`file_features`: chunks of a long file are computed this many at a time
(numpy, the FFT and the file reading release the GIL); 2, the threads the network gets."""


def file_features(
    path: str | os.PathLike[str],
    fmt: str,
    *,
    chunk_segments: int = DEFAULT_CHUNK_SEGMENTS,
    threads: int = FEATURE_THREADS,
) -> np.ndarray:
    """Unnormalised features ``(C, T, 64)`` of a whole file, read in one streamed pass.

    The file is read as :func:`stream_features` reads it (:func:`core.io.audio.iter_blocks`,
    chunks of whole segments with 512 samples of context, every frame computed from its own
    samples), but in a single pass, because the caller keeps all the features anyway: the
    log-mel levels of each chunk are stored as float32 and floored 80 dB below each
    channel's peak once the whole file is known. Rounding to float32 is monotone, so
    flooring after rounding gives exactly what :func:`core.dsp.features.extract_features` of the
    whole signal gives (bit for bit). Up to ``threads`` chunks are computed at once, each
    from its own samples, so the values do not depend on ``threads``. Memory: the output plus
    ``threads`` chunks of audio; the output grows with what really decodes, never by a
    header's claim.
    """
    from collections import deque
    from concurrent.futures import Future, ThreadPoolExecutor

    if fmt not in FEATURE_CHANNELS:
        raise SeldError(f"unknown recording format {fmt!r}; expected 'foa' or 'mic'")
    chunk_frames = SEGMENT_FRAMES * max(1, int(chunk_segments))
    block = min(chunk_frames * HOP, READ_BLOCK_SAMPLES)
    blocks = iter_blocks(path, block_seconds=block / TARGET_RATE, fmt=fmt)
    out = np.empty((FEATURE_CHANNELS[fmt], 0, N_MELS), dtype=np.float32)
    peak = np.full(4, -np.inf)
    total = 0
    running: deque[tuple[int, int, Future]] = deque()

    def store_oldest() -> None:
        nonlocal out, peak, total
        f0, f1, future = running.popleft()
        power, rest = future.result()
        if f1 > out.shape[1]:  # grow (doubling) with what decoded
            grown = np.empty((out.shape[0], max(f1, 2 * out.shape[1]), N_MELS), dtype=np.float32)
            grown[:, :f0] = out[:, :f0]
            out = grown
        level = 10.0 * np.log10(np.maximum(AMIN, power))  # float64, as core.dsp.features.log_mel
        peak = np.maximum(peak, level.reshape(4, -1).max(axis=1))
        out[:4, f0:f1] = level
        out[4:, f0:f1] = rest
        total = f1

    width = max(1, int(threads))
    with single_threaded_blas(), ThreadPoolExecutor(max_workers=width) as pool:
        for f0, f1, padded in _padded_chunks(blocks, chunk_frames):
            running.append((f0, f1, pool.submit(frame_features, padded, f1 - f0, fmt, workers=1)))
            if len(running) >= width:
                store_oldest()
        while running:
            store_oldest()
    out = out[:, :total]
    floor = (peak - TOP_DB).astype(np.float32)
    np.maximum(out[:4], floor[:, None, None], out=out[:4])
    return out


FORMAT_NAMES = {"foa": "FOA (Ambisonics, AmbiX W,Y,Z,X)", "mic": "MIC (tetrahedral array M1..M4)"}
_FORMAT_DETAILS = {"foa": "Ambisonics, AmbiX W,Y,Z,X", "mic": "tetrahedral array M1..M4"}


def format_recordings(fmt: str) -> str:
    """``"FOA recordings (Ambisonics, AmbiX W,Y,Z,X)"``: what a model of ``fmt`` expects, in words."""
    return f"{fmt.upper()} recordings ({_FORMAT_DETAILS[fmt]})"


def known_format(path: str | os.PathLike[str], fmt: str | None = None) -> str | None:
    """The format of the recording at ``path`` as far as it is known, never assumed.

    ``fmt`` (the user's declaration) if given, else the format a DCASE folder in the path
    names (:func:`core.io.audio.infer_format`), else the bundled demo recording's; ``None``
    when nothing says it.
    """
    from core.io.resources import bundled_recording_format

    if fmt is not None:
        return fmt
    return infer_format(path) or bundled_recording_format(path)


def unknown_format_message(meta: PackageMeta, how_to_declare: str = "fmt={fmt!r}") -> str:
    """The refusal for a recording whose format nothing states.

    ``how_to_declare`` is formatted with ``fmt`` (the model's): ``"--format {fmt}"`` for the CLI.
    """
    return (
        "the recording format is unknown: no folder in its path is named foa/mic or starts with "
        f"foa_/mic_ (as in DCASE foa_dev, mic_eval), and it is never assumed; the model "
        f"({meta.describe()}) expects {format_recordings(meta.fmt)}; if this is one, declare it "
        f"with {how_to_declare.format(fmt=meta.fmt)}"
    )


def _source_info(
    source: RecordingLike | str | os.PathLike[str], meta: PackageMeta, fmt: str | None
) -> tuple[RecordingLike | None, str | None, int]:
    """(the open recording, if one was given; the path if any; an estimate of its samples at 24 kHz)."""
    from core.packages.schema import check_compatible

    if fmt is not None and fmt not in FORMATS:
        raise SeldError(f"unknown recording format {fmt!r}; expected 'foa' or 'mic'")
    if isinstance(source, RecordingLike):
        if fmt is not None and fmt != source.fmt:
            raise SeldError(f"fmt={fmt!r} was given for a recording loaded as {source.fmt!r}", source.path)
        check_compatible(meta, fmt=source.fmt, path=source.path)
        return source, source.path, source.n_samples
    path = os.fspath(source)
    info = probe(path)
    known = known_format(path, fmt)
    if known is None:
        raise ModelError(unknown_format_message(meta), path)
    check_compatible(meta, fmt=known, path=path)
    estimate = math.ceil(info.frames * TARGET_RATE / info.sample_rate) if info.sample_rate else 0
    return None, path, estimate


def predict(
    model: InferenceModel,
    recording_or_path: RecordingLike | str | os.PathLike[str],
    *,
    device: str | None = None,
    batch_segments: int = 16,
    chunk_segments: int = DEFAULT_CHUNK_SEGMENTS,
    rotations: int | str | None = None,
    fmt: str | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
) -> Prediction:
    """SED and DOA outputs of a whole recording (see the module docstring for the protocol).

    The callback form of :func:`predict_steps` (same arguments): ``progress(done, total,
    stage)`` receives its reports, and ``cancel()`` returning True stops the work with
    :class:`core.common.progress.Cancelled`.
    """
    job = predict_steps(
        model,
        recording_or_path,
        device=device,
        batch_segments=batch_segments,
        chunk_segments=chunk_segments,
        rotations=rotations,
        fmt=fmt,
    )
    return run_job(job, progress=progress, cancel=cancel)


def predict_steps(
    model: InferenceModel,
    recording_or_path: RecordingLike | str | os.PathLike[str],
    *,
    device: str | None = None,
    batch_segments: int = 16,
    chunk_segments: int = DEFAULT_CHUNK_SEGMENTS,
    rotations: int | str | None = None,
    fmt: str | None = None,
) -> Job[Prediction]:
    """:func:`predict` as a job (:mod:`core.common.progress`): yields :class:`Progress`, returns the :class:`Prediction`.

    ``model`` is a :class:`~core.packages.runtime.LoadedModel` or a :class:`~core.packages.onnx_export.OnnxModel`.
    ``device`` moves a torch model first (``None``: leave it where it is; an ONNX model
    keeps the device it was opened with). A file's format is ``fmt`` when given (the
    user's declaration, which overrides the folder), else the one its folders name (else
    the bundled demo's, FOA); a file of unknown format, or of another format than the
    model's (``mic_dev`` for a FOA model), is refused with a :class:`ModelError` before
    any work (at the first ``next``).
    The reports count units of segments per stage (``"features"``, ``"scanning levels"``,
    ``"detecting"``): one after the features of each chunk (of the whole recording when it
    is short), one after each chunk of the level scan and one after each batch of
    segments, so a consumer can stop between segments. ``rotations`` is the test-time
    rotation set (:func:`inference_rotations`: ``None`` for 1, the fast default;
    :data:`ACCURATE` for the package's set; or 1, 4, 8, 16 for FOA, 1, 4, 8 for MIC).
    """
    meta = model.meta
    rotation_maps = inference_rotations(meta, rotations)
    n_rot = len(rotation_maps)
    if device is not None and hasattr(model, "to") and getattr(model, "backend", "") == "torch":
        model.to(device)
    if batch_segments < 1:
        raise SeldError(f"batch_segments must be at least 1, not {batch_segments}")
    rec, path, estimate = _source_info(recording_or_path, meta, fmt)
    n_seg_est = max(1, -(-n_frames(max(1, estimate)) // SEGMENT_FRAMES))
    chunk_frames = SEGMENT_FRAMES * max(1, int(chunk_segments))
    whole = n_frames(max(1, estimate)) <= chunk_frames
    one_pass = (
        not whole
        and rec is None
        and chunk_segments == DEFAULT_CHUNK_SEGMENTS
        and FEATURE_CHANNELS[meta.fmt] * n_frames(max(1, estimate)) * N_MELS * 4 <= ONE_PASS_FEATURE_BYTES
    )
    if one_pass:  # a file of a few minutes: one read, every frame's STFT once (file_features)
        units = _Units((1 + n_rot) * n_seg_est)
        feats = file_features(path, meta.fmt)  # type: ignore[arg-type]
        yield units.step(n_seg_est, "features")
        outputs = yield from _rotated_outputs_steps(model, feats, rotation_maps, batch_segments, units, path)
        sed, doa = average_outputs(outputs)
    elif whole:
        units = _Units((1 + n_rot) * n_seg_est)
        if rec is None:
            samples = load_recording(path, fmt=meta.fmt).samples  # type: ignore[arg-type]
        elif isinstance(rec, Recording):
            samples = rec.samples
        else:  # read on demand, but short enough to read at once
            samples = rec.read(0.0, rec.duration_s)
        with single_threaded_blas():
            feats = extract_features(samples, meta.fmt, workers=2)
        yield units.step(n_seg_est, "features")
        outputs = yield from _rotated_outputs_steps(model, feats, rotation_maps, batch_segments, units, path)
        sed, doa = average_outputs(outputs)
    else:
        units = _Units((2 + n_rot) * n_seg_est)
        source: RecordingLike | str = rec if rec is not None else path  # type: ignore[assignment]
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for kind, count, chunk in _two_pass_chunks(source, meta.fmt, chunk_segments):
            if kind == "scan":
                yield units.step(-(-count // SEGMENT_FRAMES), "scanning levels")
                continue
            assert chunk is not None  # chunks are whole segments, so label frames line up
            yield units.step(-(-chunk.shape[1] // SEGMENT_FRAMES), "features")
            outputs = yield from _rotated_outputs_steps(
                model, chunk, rotation_maps, batch_segments, units, path
            )
            parts.append(average_outputs(outputs))
        sed = np.concatenate([p[0] for p in parts])
        doa = np.concatenate([p[1] for p in parts])
    return Prediction(
        sed=sed,
        doa=doa,
        classes=tuple(meta.classes),
        threshold=meta.threshold,
        fmt=meta.fmt,
        source=str(Path(path)) if path else None,
        rotations=n_rot,
    )
