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
