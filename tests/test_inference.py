"""Inference: the paper's protocol, chunked processing of long files, progress, cancel, devices."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from core.audio import load_recording
from core.devices import resolve_device
from core.errors import ModelError, SeldError
from core.features import extract_features
from core.inference import (
    Prediction,
    default_backend,
    open_model,
    predict,
    prediction_to_table,
    stream_features,
)
from core.package import load_package
from core.progress import Cancelled
from tests.test_package import tiny_package


def write_scene(path, seconds: float, sr: int = 24000, seed: int = 0) -> np.ndarray:
    """A 4-channel 16-bit WAV of noise with louder bursts; returns the samples as written (float)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    x = 0.01 * rng.standard_normal((n, 4))
    for _ in range(max(1, int(seconds))):
        s = int(rng.integers(0, max(1, n - sr // 2)))
        x[s : s + sr // 2] += (
            rng.uniform(-0.3, 0.3, 4) * np.sin(np.arange(min(sr // 2, n - s)) * 0.05)[:, None]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(x, -1, 1), sr, subtype="PCM_16")
    return x


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    return tiny_package(tmp_path_factory.mktemp("pkg"))


@pytest.fixture(scope="module")
def model(pkg):
    return load_package(pkg[0])


def _reference(model, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The protocol spelled out: whole-file features, scaler, 2 s segments (zero-padded), network, join."""
    feats = model.scaler.transform(extract_features(samples, model.meta.fmt))
    t = feats.shape[1]
    n_seg = -(-t // 100)
    padded = np.zeros((feats.shape[0], n_seg * 100, 64), np.float32)
    padded[:, :t] = feats
    segs = padded.reshape(feats.shape[0], n_seg, 100, 64).transpose(1, 0, 2, 3)
    with torch.no_grad():
        sed, doa = model.model(torch.from_numpy(np.ascontiguousarray(segs)))
    n_lab = -(-t // 5)
    return sed.numpy().reshape(-1, sed.shape[-1])[:n_lab], doa.numpy().reshape(-1, doa.shape[-1])[:n_lab]


def test_predict_follows_the_protocol(model, tmp_path):
    path = tmp_path / "foa_dev" / "rec.wav"
    write_scene(path, 5.13)
    pred = predict(model, path)
    rec = load_recording(path, fmt="foa")
    sed, doa = _reference(model, rec.samples)
    assert isinstance(pred, Prediction)
    assert pred.sed.shape == (52, 14) and pred.doa.shape == (52, 42)  # ceil(ceil(5.13 s / 20 ms) / 5)
    np.testing.assert_allclose(pred.sed, sed, atol=1e-6)
    np.testing.assert_allclose(pred.doa, doa, atol=1e-6)
    assert pred.classes[0] == "alarm" and pred.hop_s == 0.1 and pred.threshold == 0.5
    # an in-memory recording gives the same
    again = predict(model, rec, batch_segments=1)
    np.testing.assert_allclose(again.sed, pred.sed, atol=1e-6)


@pytest.mark.parametrize(("fmt", "sr"), [("foa", 24000), ("mic", 48000)])
def test_chunked_features_equal_whole_file_features(tmp_path, fmt, sr):
    path = tmp_path / f"{fmt}_dev" / "long.wav"
    write_scene(path, 7.37, sr=sr, seed=3)
    whole = extract_features(load_recording(path).samples, fmt)
    for chunk_segments in (1, 2):
        parts = list(stream_features(path, fmt, chunk_segments=chunk_segments))
        assert [f0 for f0, _ in parts] == list(range(0, whole.shape[1], 100 * chunk_segments))
        got = np.concatenate([f for _, f in parts], axis=1)
        assert got.shape == whole.shape
        np.testing.assert_allclose(got, whole, atol=1e-4, rtol=0)  # 48 kHz: streamed vs whole resampling
        if sr == 24000:
            # The same samples, so the same values up to float32 rounding: the streamed chunks and
            # the whole file run the float32 mel projection on matrices of different shapes, and
            # BLAS sums them in a processor-dependent order. A mel band sums at most 52 positive
            # terms: relative error <= 2 * 52 * 2**-24 (6e-6, 2.7e-5 dB), plus one float32 ulp of
            # the output (7.6e-6 at 100 dB). A real defect (a shifted frame, a wrong peak) moves
            # log-mel by whole dB.
            np.testing.assert_allclose(got[:4], whole[:4], atol=1e-4, rtol=0)  # dB
            np.testing.assert_allclose(got[4:], whole[4:], atol=1e-6, rtol=0)  # |IV|, |GCC| <= 1


def test_chunked_prediction_equals_whole(model, tmp_path):
    path = tmp_path / "foa_eval" / "rec.wav"
    write_scene(path, 9.61, seed=5)
    whole = predict(model, path)
    for chunk in (1, 3):
        chunked = predict(model, path, chunk_segments=chunk, batch_segments=2)
        assert chunked.sed.shape == whole.sed.shape == (97, 14)
        np.testing.assert_allclose(chunked.sed, whole.sed, atol=1e-5)
        np.testing.assert_allclose(chunked.doa, whole.doa, atol=1e-5)
    rec = load_recording(path)
    in_memory = predict(model, rec, chunk_segments=2)
    np.testing.assert_allclose(in_memory.sed, whole.sed, atol=1e-5)


def test_progress_and_cancel(model, tmp_path):
    path = tmp_path / "foa" / "rec.wav"
    write_scene(path, 6.5)
    for chunk in (60, 1):
        calls = []
        predict(model, path, chunk_segments=chunk, progress=lambda d, t, s: calls.append((d, t, s)))  # noqa: B023
        dones = [c[0] for c in calls]
        assert dones == sorted(dones) and dones[-1] == calls[-1][1]
        assert {c[2] for c in calls} >= {"features", "detecting"}
        if chunk == 1:
            assert "scanning levels" in {c[2] for c in calls}
    seen = []

    def cancel() -> bool:
        seen.append(1)
        return len(seen) > 2

    with pytest.raises(Cancelled):
        predict(model, path, chunk_segments=1, batch_segments=1, cancel=cancel)


def test_format_mismatch_is_refused(model, tmp_path):
    path = tmp_path / "mic_dev" / "rec.wav"
    write_scene(path, 1.0)
    with pytest.raises(ModelError, match="trained on FOA recordings .* but this recording is MIC") as err:
        predict(model, path)
    assert str(path) in str(err.value)


def test_prediction_to_table():
    sed = np.zeros((3, 2), np.float32)
    sed[1, 1] = 0.7
    sed[2, 0] = 0.55
    doa = np.zeros((3, 6), np.float32)
    doa[1, [1, 3, 5]] = [0.0, 1.0, 0.0]  # class 1 at azimuth 90
    doa[2, [0, 2, 4]] = [1.0, 0.0, 0.0]
    pred = Prediction(sed=sed, doa=doa, classes=("a", "b"))
    rows = prediction_to_table(pred).rows
    assert [(r.frame, r.cls, round(r.azimuth), round(r.elevation)) for r in rows] == [
        (1, 1, 90, 0),
        (2, 0, 0, 0),
    ]
    assert len(prediction_to_table(pred, threshold=0.6)) == 1


def test_onnx_backend_matches_torch(pkg, model, tmp_path):
    path = tmp_path / "foa" / "rec.wav"
    write_scene(path, 4.2)
    ort_model = open_model(pkg[0], backend="onnx", device="cpu", threads=1)
    assert ort_model.backend == "onnx"
    a = predict(model, path)
    b = predict(ort_model, path, chunk_segments=1)
    np.testing.assert_allclose(a.sed, b.sed, atol=1e-5)
    np.testing.assert_allclose(a.doa, b.doa, atol=1e-5)
    assert open_model(pkg[0], backend="torch", device="cpu").backend == "torch"
    with pytest.raises(SeldError, match="unknown backend"):
        open_model(pkg[0], backend="tensorrt")


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None) == resolve_device("auto")
    if not torch.cuda.is_available():
        assert resolve_device("auto").type in ("cpu", "mps")
        with pytest.raises(SeldError, match="no CUDA GPU"):
            resolve_device("cuda")
        with pytest.raises(SeldError, match="no CUDA GPU"):
            resolve_device("cuda:1")
        assert default_backend("cpu") == "onnx"
    with pytest.raises(SeldError, match="unknown device 'tpu'"):
        resolve_device("tpu")


@pytest.mark.gpu
def test_predict_on_cuda(pkg, tmp_path):
    path = tmp_path / "foa" / "rec.wav"
    write_scene(path, 3.0)
    cpu = predict(load_package(pkg[0]), path)
    gpu_model = load_package(pkg[0], device="cuda")
    gpu = predict(gpu_model, path)
    np.testing.assert_allclose(gpu.sed, cpu.sed, atol=1e-4)
    assert resolve_device("auto").type == "cuda"
