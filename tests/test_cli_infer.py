"""``seld infer`` and ``seld eval`` end to end, with a small random model package."""

from __future__ import annotations

import csv
import io

import pytest

from core.cli import main
from core.cli.render import ProgressRenderer
from core.common.progress import Progress
from core.inference.predict import open_model, predict, prediction_to_table
from core.io import resources
from core.labels.dcase_csv import read_labels
from tests.test_inference import write_scene
from tests.test_package import tiny_package


@pytest.fixture(scope="module")
def pkg(tmp_path_factory):
    return tiny_package(tmp_path_factory.mktemp("pkg"))[0]


@pytest.fixture
def no_bundled(monkeypatch, tmp_path):
    """No bundled resources anywhere (whatever the installation holds)."""
    monkeypatch.setattr(resources, "_roots", lambda: iter([tmp_path / "no_resources"]))


def test_infer_a_folder_writes_one_csv_per_recording(pkg, tmp_path, capsys):
    data = tmp_path / "foa_eval"
    write_scene(data / "a.wav", 2.5, seed=1)
    write_scene(data / "sub" / "b.wav", 1.2, seed=2)
    (data / "notes.txt").write_text("not audio")
    out = tmp_path / "out"
    assert main(["infer", str(data), "--model", str(pkg), "--out", str(out), "--backend", "torch"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.csv"]
    captured = capsys.readouterr()
    assert "a.csv" in captured.out and "25 frames" in captured.out
    assert "detecting" in captured.err  # progress lines (not a TTY)
    # the CSV is exactly the table of the prediction (DCASE 2020, polar degrees)
    table = prediction_to_table(predict(open_model(pkg, backend="torch", device="cpu"), data / "a.wav"))
    got = read_labels(out / "a.csv", fmt="dcase2020")
    assert [(r.frame, r.cls) for r in got] == [(r.frame, r.cls) for r in table]
    assert all(-180 <= r.azimuth <= 180 and -90 <= r.elevation <= 90 for r in got)
    rows = list(csv.reader((out / "a.csv").read_text().splitlines()))
    assert all(len(r) == 5 for r in rows)


def test_infer_threshold_and_default_backend(pkg, tmp_path):
    data = tmp_path / "foa"
    write_scene(data / "x.flac", 1.5, seed=4)
    out_low = tmp_path / "low"
    out_high = tmp_path / "high"
    assert (
        main(
            ["infer", str(data / "x.flac"), "--model", str(pkg), "--out", str(out_low), "--threshold", "0.05"]
        )
        == 0
    )
    assert (
        main(
            [
                "infer",
                str(data / "x.flac"),
                "--model",
                str(pkg),
                "--out",
                str(out_high),
                "--threshold",
                "0.95",
            ]
        )
        == 0
    )
    assert len(read_labels(out_low / "x.csv")) >= len(read_labels(out_high / "x.csv"))


def test_infer_with_an_exported_onnx_file(pkg, tmp_path):
    onnx_path = tmp_path / "m.onnx"
    assert main(["export-onnx", "--model", str(pkg), "--out", str(onnx_path)]) == 0
    write_scene(tmp_path / "foa" / "r.wav", 1.0)
    assert (
        main(["infer", str(tmp_path / "foa" / "r.wav"), "--model", str(onnx_path), "--out", str(tmp_path)])
        == 0
    )
    assert (tmp_path / "r.csv").is_file()
    code = main(["infer", str(tmp_path / "foa"), "--model", str(onnx_path), "--backend", "torch"])
    assert code == 2


def test_infer_errors(pkg, tmp_path, capsys, no_bundled):
    write_scene(tmp_path / "mic_dev" / "m.wav", 1.0)
    assert main(["infer", str(tmp_path / "mic_dev"), "--model", str(pkg), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "trained on FOA recordings but this recording's folder says MIC" in err and "m.wav" in err
    assert not (tmp_path / "m.csv").exists()

    assert main(["infer", str(tmp_path / "missing.wav"), "--model", str(pkg)]) == 2
    assert "no such file or folder" in capsys.readouterr().err

    write_scene(tmp_path / "foa" / "one" / "same.wav", 0.5)
    write_scene(tmp_path / "foa" / "two" / "same.wav", 0.5)
    assert main(["infer", str(tmp_path / "foa"), "--model", str(pkg)]) == 2
    assert "two recordings would write same.csv" in capsys.readouterr().err

    assert main(["infer", str(tmp_path / "foa" / "one")]) == 2
    assert "no bundled FOA model is installed yet; pass --model PACKAGE" in capsys.readouterr().err

    (tmp_path / "empty").mkdir()
    assert main(["infer", str(tmp_path / "empty"), "--model", str(pkg)]) == 2
    assert "no recordings" in capsys.readouterr().err

    bad = tmp_path / "foa" / "broken.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    out = tmp_path / "out"
    assert (
        main(["infer", str(bad), str(tmp_path / "foa" / "one"), "--model", str(pkg), "--out", str(out)]) == 2
    )
    err = capsys.readouterr().err
    assert "broken.wav" in err and "1 of 2 recordings failed" in err
    assert (out / "same.csv").is_file()


def test_the_bundled_model_is_found_through_resources(pkg, tmp_path, monkeypatch):
    root = tmp_path / "seld_resources"
    (root / "models").mkdir(parents=True)
    (root / "models" / "foa_crnn.safetensors").write_bytes(pkg.read_bytes())
    monkeypatch.setattr(resources, "_roots", lambda: iter([root]))
    assert resources.bundled_model_path("foa") == root / "models" / "foa_crnn.safetensors"
    assert resources.bundled_model_path("mic") is None
    assert resources.demo_recording_path() is None
    write_scene(tmp_path / "rec.wav", 0.8)
    # no folder names the format and none is declared: the bundled model is never picked by a guess
    assert main(["infer", str(tmp_path / "rec.wav"), "--out", str(tmp_path / "o")]) == 2
    assert not (tmp_path / "o" / "rec.csv").exists()
    argv = ["infer", str(tmp_path / "rec.wav"), "--format", "foa", "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    assert (tmp_path / "o" / "rec.csv").is_file()


@pytest.fixture(scope="module")
def mic_pkg(tmp_path_factory):
    return tiny_package(tmp_path_factory.mktemp("mic_pkg"), fmt="mic", name="mic.safetensors")[0]


def test_a_model_never_runs_on_a_recording_of_unknown_or_other_format(mic_pkg, tmp_path, capsys):
    """A MIC model on a recording outside any foa_*/mic_* folder: refused unless --format says MIC."""
    rec = tmp_path / "recordings" / "r.wav"
    write_scene(rec, 1.0)
    out = tmp_path / "out"
    base = ["infer", str(rec), "--model", str(mic_pkg), "--out", str(out), "--backend", "torch"]
    assert main(base) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"seld: error: {rec}: the recording format is unknown: no folder in its path is named"
    )
    assert (
        "expects MIC recordings (tetrahedral array M1..M4); if this is one, declare it with --format mic"
        in err
    )
    assert main([*base, "--format", "foa"]) == 2
    assert (
        f"seld: error: {rec}: the model {mic_pkg} (crnn_attention, 14 classes (dcase2020), MIC) expects MIC "
        "recordings (tetrahedral array M1..M4) but --format says this recording is FOA (Ambisonics, AmbiX "
        "W,Y,Z,X); use a FOA model"
    ) in capsys.readouterr().err
    assert not out.exists()
    assert main([*base, "--format", "mic"]) == 0  # the override
    assert (out / "r.csv").is_file()
    # --format also overrides a folder that names the other format
    named = tmp_path / "foa_dev" / "r2.wav"
    write_scene(named, 1.0)
    assert main(["infer", str(named), "--model", str(mic_pkg), "--out", str(out), "--backend", "torch"]) == 2
    assert "if the folder name is wrong, declare the format with --format mic" in capsys.readouterr().err
    argv = ["infer", str(named), "--model", str(mic_pkg), "--out", str(out), "--format", "mic"]
    assert main([*argv, "--backend", "torch"]) == 0
    capsys.readouterr()


def test_the_bundled_demo_runs_without_a_format(tmp_path, capsys):
    demo = resources.demo_recording_path()
    if demo is None or resources.bundled_model_path("foa") is None:
        pytest.skip("no bundled demo recording and FOA model in this installation")
    assert main(["infer", str(demo), "--rotations", "1", "--out", str(tmp_path)]) == 0
    assert len(read_labels(tmp_path / f"{demo.stem}.csv")) > 0
    capsys.readouterr()


def test_the_renderer_draws_a_bar_on_a_terminal_and_clears_it():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    renderer = ProgressRenderer(stream)
    renderer.update("rec.wav", Progress(5, 10, "detecting"))
    renderer.update("rec.wav", Progress(10, 10, "detecting"), "loss 0.5")
    renderer.write("a line of its own")
    renderer.close()
    text = stream.getvalue()
    assert "\r" in text and "rec.wav" in text and "detecting" in text
    assert "rec.wav: 100%|" in text and "| 10/10 [" in text and ", detecting loss 0.5]" in text
    assert "a line of its own\n" in text
    assert text.endswith("\r") or text.rstrip(" ").endswith("\r")  # the bar is cleared when it closes


def test_the_renderer_writes_plain_lines_when_not_on_a_terminal():
    stream = io.StringIO()
    renderer = ProgressRenderer(stream, interval_s=3600)
    renderer.update("rec.wav", Progress(1, 4, "features"))
    renderer.update("rec.wav", Progress(2, 4, "detecting"))
    renderer.update("rec.wav", Progress(3, 4, "detecting"))  # same stage, too soon: no line
    renderer.update("rec.wav", Progress(4, 4, "detecting"))  # complete
    renderer.update("b.wav", Progress(1, 2, "detecting"), "x")  # another label
    renderer.write("done")
    assert stream.getvalue().splitlines() == [
        "rec.wav: features 1/4 (25%)",
        "rec.wav: detecting 2/4 (50%)",
        "rec.wav: detecting 4/4 (100%)",
        "b.wav: detecting 1/2 (50%) x",
        "done",
    ]


def _dataset(root, folds=(1, 2)):
    for fold in folds:
        name = f"fold{fold}_room1_mix001"
        write_scene(root / "foa_dev" / f"{name}.wav", 2.3, seed=fold)
        labels = root / "metadata_dev" / f"{name}.csv"
        labels.parent.mkdir(parents=True, exist_ok=True)
        labels.write_text("".join(f"{f},3,0,40,-10\n" for f in range(0, 15)))


def test_eval_scores_a_fold(pkg, tmp_path, capsys):
    _dataset(tmp_path / "data")
    report = tmp_path / "scores.csv"
    preds = tmp_path / "preds"
    argv = [
        "eval",
        "--model",
        str(pkg),
        "--data",
        str(tmp_path / "data"),
        "--folds",
        "1",
        "--csv",
        str(report),
    ]
    assert main([*argv, "--predictions", str(preds)]) == 0
    out = capsys.readouterr().out
    assert "SELD scores (dcase2020" in out and "fold1_room1_mix001" in out and "fold2" not in out
    rows = list(csv.DictReader(report.open()))
    assert [r["scope"] for r in rows].count("overall") == 1
    assert [r["name"] for r in rows if r["scope"] == "file"] == ["fold1_room1_mix001"]
    assert [r["n_frames"] for r in rows if r["scope"] == "file"] == ["23"]  # the recording's label frames
    assert len([r for r in rows if r["scope"] == "class"]) == 14
    assert (preds / "fold1_room1_mix001.csv").is_file()

    assert main(["eval", "--model", str(pkg), "--data", str(tmp_path / "data"), "--folds", "7"]) == 2
    assert "fold 7 has no recordings" in capsys.readouterr().err


@pytest.mark.parametrize(("fmt", "accurate"), [("foa", 16), ("mic", 8)])
def test_bundled_models_run_fast_by_default_and_accurate_on_demand(
    fmt, accurate, tmp_path, capsys, monkeypatch
):
    """Default: 1 rotation (no test-time rotation); --accurate: the package's set (its metadata)."""
    from core.inference.predict import ACCURATE, inference_rotations
    from core.packages.package_file import read_package_meta
    from core.spatial.rotations import rotation_set

    path = resources.bundled_model_path(fmt)
    if path is None:
        pytest.skip(f"no bundled {fmt.upper()} model in this installation")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    meta = read_package_meta(path)
    assert meta.rotations == accurate  # the metadata keeps the accurate setting
    assert inference_rotations(meta) == rotation_set(1, fmt)
    assert inference_rotations(meta, ACCURATE) == rotation_set(accurate, fmt)
    rec = tmp_path / f"{fmt}_dev" / "short.wav"
    write_scene(rec, 1.0, seed=3)
    out = tmp_path / "out"
    assert main(["infer", str(rec), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "(onnx backend, no test-time rotation)" in err
    assert main(["infer", str(rec), "--out", str(out), "--accurate"]) == 0
    err = capsys.readouterr().err
    assert f"{accurate} test-time rotations, ~" in err and "x slower" in err
    assert main(["infer", str(rec), "--out", str(out), "--rotations", "4"]) == 0
    assert "4 test-time rotations" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["infer", str(rec), "--out", str(out), "--rotations", "4", "--accurate"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_rotation_options_show_their_cost(capsys):
    with pytest.raises(SystemExit):
        main(["infer", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--accurate" in text and "x slower" in text and "default: 1 (fast" in text
