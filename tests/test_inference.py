"""Inference: the paper's protocol, chunked processing of long files, progress, cancel, devices."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from core.common.errors import ModelError, SeldError
from core.common.progress import Cancelled
from core.dsp.features import extract_features
from core.inference.predict import (
    Prediction,
    default_backend,
    open_model,
    predict,
    prediction_to_table,
    stream_features,
)
from core.io.audio import load_recording
from core.packages.devices import resolve_device
from core.packages.runtime import load_package
from tests.feature_checks import assert_same_features
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
        if sr == 24000:  # the same samples: the same values up to the rounding of two paths
            assert_same_features(got, whole)


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


def test_the_recording_format_is_never_assumed(model, tmp_path):
    """Outside a foa_*/mic_* folder the caller must declare the format; the declaration overrides a folder."""
    plain = tmp_path / "recordings" / "rec.wav"
    write_scene(plain, 1.0)
    with pytest.raises(ModelError) as err:
        predict(model, plain)
    assert str(err.value) == (
        f"{plain}: the recording format is unknown: no folder in its path is named foa/mic or starts with "
        "foa_/mic_ (as in DCASE foa_dev, mic_eval), and it is never assumed; the model (crnn_attention, 14 "
        "classes (dcase2020), FOA) expects FOA recordings (Ambisonics, AmbiX W,Y,Z,X); if this is one, "
        "declare it with fmt='foa'"
    )
    with pytest.raises(ModelError, match="trained on FOA recordings .* but this recording is MIC"):
        predict(model, plain, fmt="mic")
    declared = predict(model, plain, fmt="foa")
    assert declared.sed.shape == (10, 14)
    named = tmp_path / "mic_dev" / "rec.wav"  # the folder says MIC; the user says FOA: the user wins
    named.parent.mkdir()
    named.write_bytes(plain.read_bytes())
    np.testing.assert_array_equal(predict(model, named, fmt="foa").sed, declared.sed)
    rec = load_recording(plain, fmt="foa")
    with pytest.raises(SeldError, match="fmt='mic' was given for a recording loaded as 'foa'"):
        predict(model, rec, fmt="mic")
    with pytest.raises(SeldError, match="unknown recording format 'ambix'"):
        predict(model, plain, fmt="ambix")


def test_the_bundled_demo_recording_has_a_known_format(tmp_path, monkeypatch):
    from core.inference.predict import known_format
    from core.io import resources

    demo = tmp_path / "seld_resources" / "demo" / "demo_foa.flac"
    write_scene(demo, 0.2)
    monkeypatch.setattr(resources, "_roots", lambda: iter([tmp_path / "seld_resources"]))
    assert known_format(demo) == "foa"
    assert known_format(demo, "mic") == "mic"  # a declaration still wins
    copy = tmp_path / "elsewhere" / "demo_foa.flac"  # the same name elsewhere is not the demo
    copy.parent.mkdir()
    copy.write_bytes(demo.read_bytes())
    assert known_format(copy) is None


def test_non_finite_features_and_outputs_are_refused(model, tmp_path):
    from core.inference.predict import check_features_finite, rotated_outputs

    feats = np.zeros((7, 120, 64), np.float32)
    check_features_finite(feats, "rec.wav")
    feats[5, 60, 3] = np.nan
    with pytest.raises(SeldError) as err:
        check_features_finite(feats, "rec.wav")
    assert str(err.value) == (
        "rec.wav: its features contain 1 NaN or infinite values (the first at 1.20 s, feature channel 6, "
        "band 4); no result is made of them"
    )
    with pytest.raises(SeldError, match="its features contain 1 NaN"):
        rotated_outputs(model, feats, source="rec.wav")

    class Broken:  # a backend whose network gives Inf for one value
        meta, scaler, backend, path = model.meta, model.scaler, "torch", "broken.safetensors"

        def run(self, batch):
            sed, doa = model.run(batch)
            doa[0, 3, 7] = np.inf
            return sed, doa

    path = tmp_path / "foa" / "rec.wav"
    write_scene(path, 1.0)
    with pytest.raises(ModelError) as err:
        predict(Broken(), path)
    assert str(err.value) == (
        f"broken.safetensors: the network produced 1 NaN or infinite direction (doa) outputs on {path} "
        "(damaged weights or feature scaler?); no result is made of them"
    )

    import copy

    class BadScaler(Broken):  # a scaler no package passes (loading refuses it): NaN in one band
        scaler = copy.deepcopy(model.scaler)
        run = model.run

    BadScaler.scaler.mean[6, 10] = np.nan
    with pytest.raises(ModelError) as err:
        predict(BadScaler(), path)
    assert str(err.value).startswith(
        f"broken.safetensors: its feature scaler turns the features of {path} into "
    ) and str(err.value).endswith(" NaN or infinite values; no result is made of them")


def test_file_features_equal_the_whole_file_in_one_pass(tmp_path):
    from core.inference.predict import file_features

    path = tmp_path / "mic_dev" / "long.wav"
    write_scene(path, 7.37, sr=48000, seed=3)
    whole = extract_features(load_recording(path).samples, "mic")
    for chunk_segments in (1, 2, 30):  # several chunks (seams every 2 or 4 s) and one
        one = file_features(path, "mic", chunk_segments=chunk_segments, threads=1)
        assert_same_features(one, whole)
        for threads in (2, 3):  # chunks computed at once: each the same arithmetic on its own samples
            np.testing.assert_array_equal(
                file_features(path, "mic", chunk_segments=chunk_segments, threads=threads), one
            )


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


def test_a_recording_read_on_demand_is_predicted_as_the_same_recording_in_memory(model, tmp_path):
    """A long FuMa file opened lazily (the app's FileRecording) is streamed through its own reader,
    which converts to AmbiX, so it predicts what the decoded recording predicts."""
    from core.io.recording import FileRecording

    path = tmp_path / "scene_fuma.wav"  # no DCASE folder: the format is declared, as the app does
    write_scene(path, 9.61, seed=7)  # the samples are read as FuMa W, X, Y, Z below
    lazy = FileRecording(path, "foa", convention="fuma")
    whole = load_recording(path, fmt="foa", convention="fuma")
    assert whole.samples.shape[1] == lazy.n_samples
    streamed = predict(model, lazy, chunk_segments=1, batch_segments=2)  # several streamed chunks
    in_memory = predict(model, whole)
    assert streamed.sed.shape == in_memory.sed.shape == (97, 14)
    # same samples, features within float32 rounding of two paths (tests/feature_checks.py)
    np.testing.assert_allclose(streamed.sed, in_memory.sed, atol=1e-5)
    np.testing.assert_allclose(streamed.doa, in_memory.doa, atol=1e-5)
    # and the stream really is the converted one: its features are the FuMa->AmbiX recording's,
    # not those of the file's channels read as AmbiX (the intensity vectors turn)
    streamed_feats = np.concatenate([f for _, f in stream_features(lazy, "foa", chunk_segments=1)], axis=1)
    assert_same_features(streamed_feats, extract_features(whole.samples, "foa"))
    as_ambix = extract_features(load_recording(path, fmt="foa").samples, "foa")
    assert np.abs(streamed_feats[4:] - as_ambix[4:]).max() > 1e-2  # 10^4 times the tolerance above


def test_a_file_of_a_few_minutes_is_featured_in_one_pass_as_streaming_does(tmp_path):
    """Over a chunk (1 min) and within ONE_PASS_FEATURE_BYTES: one read; the same outputs as the two-pass stream."""
    from core.inference.predict import DEFAULT_CHUNK_SEGMENTS, predict
    from core.packages.runtime import load_package
    from tests.test_package import tiny_package

    model = load_package(tiny_package(tmp_path)[0])
    path = tmp_path / "foa" / "long.wav"
    write_scene(path, 64.3, seed=9)
    one_pass = predict(model, path)
    streamed = predict(model, path, chunk_segments=DEFAULT_CHUNK_SEGMENTS - 1)
    assert one_pass.sed.shape == streamed.sed.shape == (643, 14)
    np.testing.assert_allclose(one_pass.sed, streamed.sed, atol=1e-5)
    np.testing.assert_allclose(one_pass.doa, streamed.doa, atol=1e-5)
