"""The model registry: lazy built-ins, third-party entry points, helpful unknown-name errors."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest

from avatar_bench.errors import AvatarBenchError
from avatar_bench.models import registry
from tests.fakeroot import instance, write_frame

PLUGIN = textwrap.dedent('''
    import numpy as np
    from avatar_bench.models.base import Adapter

    class Ones(Adapter):
        name = "plugin-ones"
        description = "third-party test model"

        def predict(self, dataset, frames):
            for f in frames:
                yield f.key, np.ones((4, 4), np.float32)
''')


@pytest.fixture
def plugin_on_path(tmp_path, monkeypatch):
    """A real installed distribution (dist-info + module) that declares an entry point."""
    (tmp_path / "ab_plugin_mod.py").write_text(PLUGIN)
    info = tmp_path / "ab_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ab-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[avatar_bench.models]\nplugin-ones = ab_plugin_mod:Ones\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("ab_plugin_mod", None)


def test_builtins_are_listed_without_importing_torch():
    names = registry.available()
    assert {"center-prior", "uniform", "random", "oracle", "ezvsl", "slavc", "ssltie",
            "tavlo"} <= set(names)
    registry.get_adapter_class("uniform")
    assert all(":" in target for target in names.values())


def test_unknown_name_suggests_close_matches():
    with pytest.raises(AvatarBenchError) as err:
        registry.get_adapter_class("ezsvl")
    msg = str(err.value)
    assert "Did you mean ezvsl" in msg and "Available:" in msg and "tavlo" in msg


def test_entry_point_plugin_registers_and_predicts(plugin_on_path, tmp_path):
    assert registry.available()["plugin-ones"] == "ab_plugin_mod:Ones"
    root = tmp_path / "root"
    write_frame(root, "vid_00001", 3, [instance("Single-Sound", "dog", (0, 0, 10, 10))])
    from avatar_bench.data import AvatarDataset

    ds = AvatarDataset(root, use_cache=False)
    out = dict(registry.create("plugin-ones").predict(ds, ds.frames))
    assert list(out) == ["vid_00001_00003"] and np.all(out["vid_00001_00003"] == 1)


def test_a_target_that_is_not_an_adapter_is_refused(monkeypatch):
    monkeypatch.setitem(registry.BUILTIN, "bogus", "avatar_bench.errors:AvatarBenchError")
    with pytest.raises(AvatarBenchError, match="not an avatar_bench Adapter"):
        registry.get_adapter_class("bogus")


def test_meta_records_checkpoint_by_name_and_sha256(tmp_path):
    import hashlib

    from avatar_bench.models.base import Adapter, checkpoint_record

    weights = tmp_path / "deep" / "dir" / "ckpt.pth"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"\x00weights" * 1000)

    class Dummy(Adapter):
        name = "dummy"

        def predict(self, dataset, frames):
            yield from ()

    meta = Dummy(checkpoint=str(weights), seed=3).meta()
    expected = {"file": "ckpt.pth", "sha256": hashlib.sha256(weights.read_bytes()).hexdigest()}
    assert meta["options"]["checkpoint"] == expected == checkpoint_record(weights)
    assert str(tmp_path) not in repr(meta) and meta["options"]["seed"] == 3


class _Dist:
    def __init__(self, direct_url: str | None) -> None:
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        return self.direct_url if name == "direct_url.json" else None


@pytest.mark.parametrize("path, dists, copy", [
    ("/src/avatar-bench/avatar_bench/__init__.py", [], False),           # source tree
    ("/v/lib/python3.11/site-packages/avatar_bench/__init__.py", [], True),
    ("/v/lib/python3.11/site-packages/avatar_bench/__init__.py",
     [_Dist('{"url": "file:///src", "dir_info": {}}')], True),            # pip install .
    ("/v/lib/python3.11/site-packages/avatar_bench/__init__.py",
     [_Dist(None), _Dist('{"url": "file:///src", "dir_info": {"editable": true}}')], False),
    ("/usr/lib/python3/dist-packages/avatar_bench/__init__.py", [_Dist("not json")], True),
])
def test_installed_copy_is_told_from_editable_and_source(monkeypatch, path, dists, copy):
    monkeypatch.setattr(registry, "distributions", lambda name: iter(dists))
    assert registry.installed_copy(path) is copy


def test_unknown_model_mentions_editable_install_only_for_a_copy(monkeypatch):
    monkeypatch.setattr(registry, "installed_copy", lambda: True)
    with pytest.raises(AvatarBenchError, match=r"pip install -e \.") as err:
        registry.get_adapter_class("my-new-model")
    assert "unknown model 'my-new-model'" in str(err.value)
    monkeypatch.setattr(registry, "installed_copy", lambda: False)
    with pytest.raises(AvatarBenchError) as err:
        registry.get_adapter_class("my-new-model")
    assert "pip install -e" not in str(err.value)


def test_missing_torch_hint_says_torch_first(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "avatar_bench.models.tavlo.adapter", raising=False)
    monkeypatch.delitem(sys.modules, "avatar_bench.models.tavlo", raising=False)
    with pytest.raises(AvatarBenchError) as err:
        registry.get_adapter_class("tavlo")
    msg = str(err.value)
    assert "needs PyTorch" in msg
    assert msg.index("install PyTorch first") < msg.index("pip install 'avatar-bench[models]'")


def test_train_takes_m_and_dataset_and_keeps_data_as_deprecated(monkeypatch, tmp_path):
    pytest.importorskip("torch")
    from click.testing import CliRunner

    from avatar_bench.cli import cli
    from avatar_bench.train import trainer

    seen = []

    def fake_train(cfg, log):
        seen.append(cfg.data)
        return _Result()

    monkeypatch.setattr(trainer, "train", fake_train)
    runner = CliRunner()
    help_text = runner.invoke(cli, ["train", "--help"]).output
    assert "-m, --model" in help_text and "--dataset" in help_text
    assert "--data " not in help_text                     # the old spelling is hidden
    out = str(tmp_path / "run")
    res = runner.invoke(cli, ["train", "-m", "tavlo", "--dataset", "synthetic", "--output", out])
    assert res.exit_code == 0, res.output
    assert "deprecated" not in res.stderr
    res = runner.invoke(cli, ["train", "-m", "tavlo", "--data", "synthetic", "--output", out])
    assert res.exit_code == 0, res.output
    assert res.stderr.count("warning: --data is deprecated; use --dataset") == 1
    res = runner.invoke(cli, ["train", "-m", "tavlo", "--output", out])
    assert res.exit_code == 0, res.output
    assert seen == ["synthetic", "synthetic", "mini"]
    res = runner.invoke(cli, ["train", "-m", "tavlo", "--data", "synthetic", "--dataset",
                              "mini", "--output", out])
    assert res.exit_code == 2
    assert "--dataset mini and --data synthetic disagree" in res.stderr


class _Result:
    checkpoint, step, wall_s, clips_per_s, final_loss, skipped_clips = "c.pth", 0, 0.0, 0.0, 0.0, 0


def test_predict_help_explains_every_option():
    from click.testing import CliRunner

    from avatar_bench.cli import cli

    out = CliRunner().invoke(cli, ["predict", "--help"]).output
    for flag in ("--checkpoint", "--device", "--batch-size", "--seed", "--precision",
                 "--workers", "--restart", "--debug"):
        block = out[out.index(flag):].split("\n  -")[0]
        assert len(block.split()) > 4, f"{flag} has no help: {block!r}"
