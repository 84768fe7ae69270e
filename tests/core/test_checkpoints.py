"""Safe loading of original .pth checkpoints: mmengine ConfigDict meta is accepted, nothing else foreign is."""

from __future__ import annotations

import datetime
import json
import os
import pickle
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch

from sapiens_core.errors import CheckpointError, UnsafeCheckpointError
from sapiens_core.io.checkpoints import globals_in_pickle, load_checkpoint
from tests.tiny_models import build_tiny_model, save_checkpoint, write_malicious_pth, write_truncated_copy


@pytest.fixture(scope="module")
def model():
    return build_tiny_model("seg", embed_dim=64, layers=1, heads=1, head_channels=8)


@pytest.fixture(scope="module")
def official_like(model, tmp_path_factory):
    return save_checkpoint(model, tmp_path_factory.mktemp("ckpt") / "sapiens_0.3b_goliath_best.pth", "pth")


def test_plain_weights_only_load_refuses_the_official_layout(official_like):
    # The reason the allow-list exists (spec §0.10): torch alone rejects the ConfigDict in meta.
    with pytest.raises(pickle.UnpicklingError, match="Unsupported global"):
        torch.load(official_like, weights_only=True)
    with open(official_like, "rb") as handle:
        assert "mmengine.config.config.ConfigDict" in torch.serialization.get_unsafe_globals_in_checkpoint(handle)


def test_official_layout_loads_with_meta_as_plain_data(model, official_like):
    state_dict, meta = load_checkpoint(official_like)
    assert list(state_dict) == list(model.state_dict())
    for key, value in model.state_dict().items():
        assert torch.equal(state_dict[key], value), key
    assert type(meta["cfg"]) is dict and type(meta["cfg"]["data_preprocessor"]) is dict
    assert meta["cfg"]["type"] == "EncoderDecoder"
    assert meta["dataset_meta"]["classes"] == ("a", "b")
    np.testing.assert_array_equal(meta["dataset_meta"]["sigmas"], np.linspace(0, 1, 5, dtype=np.float32))
    assert meta["hook_msgs"]["best_score"] == 0.5
    assert "mmengine" not in sys.modules  # the fake class existed only while the file was written


def test_bare_state_dict_and_module_prefix(model, tmp_path):
    bare = tmp_path / "bare.pth"
    torch.save(model.state_dict(), bare)
    state_dict, meta = load_checkpoint(bare)
    assert meta == {} and list(state_dict) == list(model.state_dict())
    wrapped = tmp_path / "ddp.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}, "meta": None}, wrapped)
    state_dict, meta = load_checkpoint(wrapped)
    assert list(state_dict) == list(model.state_dict()) and meta == {}


@pytest.mark.parametrize("zipped", [True, False], ids=["torch-zip", "raw-pickle"])
def test_malicious_pickle_is_refused_before_anything_runs(tmp_path, zipped):
    marker = tmp_path / "pwned"
    evil = write_malicious_pth(tmp_path / "evil.pth", marker, zipped=zipped)
    with pytest.raises(UnsafeCheckpointError, match=r"evil\.pth.*(posix|nt)\.system") as info:
        load_checkpoint(evil)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_globals_outside_the_allow_list_are_refused_even_if_harmless(tmp_path):
    path = tmp_path / "dated.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": {"time": datetime.date(2024, 8, 1)}}, path)
    with pytest.raises(UnsafeCheckpointError, match=r"dated\.pth.*datetime\.date"):
        load_checkpoint(path)


def test_scanner_sees_protocol_4_globals():
    data = pickle.dumps({"f": os.system, "g": [os.path.join]}, protocol=4)
    assert {"posix.system", "posixpath.join"} <= globals_in_pickle(data) or {"nt.system"} <= globals_in_pickle(data)


def test_truncated_checkpoint(official_like, tmp_path):
    broken = write_truncated_copy(official_like, tmp_path / "half.pth")
    with pytest.raises(CheckpointError, match=r"^half\.pth is truncated or corrupt"):
        load_checkpoint(broken)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"\x00" + np.random.default_rng(0).bytes(4096), "is not a PyTorch checkpoint"),
        (json.dumps({"state_dict": {}}).encode(), "is not a PyTorch checkpoint"),
        (b"\x80\x02" + np.random.default_rng(1).bytes(100), "(truncated or corrupt|cannot be unpickled safely)"),
        (b"\x80\x02", "(truncated or corrupt|cannot be unpickled safely)"),  # the shortest pickle header
        (b"\x80\x06" + bytes(100), "is not a PyTorch checkpoint"),  # no pickle protocol 6
        (b"\x00\x03" + bytes(100), "is not a PyTorch checkpoint"),  # a protocol byte without the 0x80
    ],
)
def test_junk_files(tmp_path, content, message):
    path = tmp_path / "junk.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=rf"^junk\.pth .*{message}"):
        load_checkpoint(path)


def test_missing_file_and_non_state_dict(tmp_path):
    with pytest.raises(CheckpointError, match="nothing.pth does not exist"):
        load_checkpoint(tmp_path / "nothing.pth")
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match=r"list.pth holds no state dict \(found list\)"):
        load_checkpoint(path)
    path = tmp_path / "mixed.pth"
    torch.save({"state_dict": {"w": torch.zeros(1), "step": 3}}, path)
    with pytest.raises(CheckpointError, match="'step' is not a named tensor"):
        load_checkpoint(path)


# ----------------------------------------------------------------------------------------------- the allow-list
CONFIG_DICT_NAMES = {
    "mmengine.config.config.ConfigDict",
    "mmengine.config.ConfigDict",
    "mmengine.ConfigDict",
    "mmcv.utils.config.ConfigDict",
    "mmcv.ConfigDict",
    "addict.addict.Dict",
    "addict.Dict",
}
CONFIG_NAMES = {
    "mmengine.config.config.Config",
    "mmengine.config.Config",
    "mmengine.Config",
    "mmcv.utils.config.Config",
}
NUMPY_NAMES = {
    "numpy.core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray._reconstruct",
    "numpy._core.multiarray.scalar",
    "numpy.ndarray",
    "numpy.dtype",
}


def test_allow_list_is_exactly_the_config_containers_and_numpy_rebuilders():
    # Pinned by hand: every entry lets a checkpoint call that object, so a new one must be argued for here.
    from sapiens_core.io.checkpoints import ConfigStub, allow_list

    entries = allow_list()
    names = [name for _, name in entries]
    assert len(names) == len(set(names))
    by_name = dict((name, obj) for obj, name in entries)
    dtype_names = {name for name in by_name if name.startswith("numpy.dtypes.")}
    assert set(by_name) == CONFIG_DICT_NAMES | CONFIG_NAMES | NUMPY_NAMES | dtype_names
    assert all(by_name[name] is OrderedDict for name in CONFIG_DICT_NAMES)
    assert all(by_name[name] is ConfigStub for name in CONFIG_NAMES)
    core = np._core if hasattr(np, "_core") else np.core
    for package in ("numpy.core", "numpy._core"):
        assert by_name[f"{package}.multiarray._reconstruct"] is core.multiarray._reconstruct
        assert by_name[f"{package}.multiarray.scalar"] is core.multiarray.scalar
    assert by_name["numpy.ndarray"] is np.ndarray and by_name["numpy.dtype"] is np.dtype
    # numpy.dtypes holds data-type classes only (Float64DType, and aliases such as LongDType): each entry is the
    # class of that name there and makes dtypes, nothing else.
    for name in dtype_names:
        cls = by_name[name]
        assert isinstance(cls, type) and issubclass(cls, np.dtype) and getattr(np.dtypes, name[13:]) is cls
    assert {"numpy.dtypes.Float32DType", "numpy.dtypes.Int64DType"} <= dtype_names
    # The config stand-in keeps its state as data and has no behaviour a pickle could trigger.
    stub = ConfigStub()
    stub.__setstate__({"a": 1})
    assert stub.state == {"a": 1} and ConfigStub.__bases__ == (object,)
    assert ConfigStub.__new__ is object.__new__ and ConfigStub.__init__ is object.__init__
    assert {"__call__", "__getattr__", "__reduce__", "__del__"}.isdisjoint(vars(ConfigStub))


class _Call:
    """Pickles as ``func(*args)``; func may itself be a _Call, which is how real exploits chain lookups."""

    def __init__(self, func, *args) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args

    def __call__(self):  # the pickler only asks that the first item of a reduce tuple be callable
        raise AssertionError("never called: it only exists to be pickled")


def _touch(marker):
    return f"touch '{marker}'"


def _abuses(marker):
    """One payload per kind of widening that would let a checkpoint run code; each would create ``marker``."""
    import builtins
    import functools
    import importlib
    import operator
    import subprocess

    os_system = _Call(builtins.getattr, _Call(builtins.__import__, "os"), "system")
    return {
        "builtins.getattr": _Call(os_system, _touch(marker)),  # a callable that reaches anything
        "builtins.eval": _Call(builtins.eval, f"__import__('os').system({_touch(marker)!r})"),
        "importlib.import_module": _Call(
            _Call(builtins.getattr, _Call(importlib.import_module, "os"), "system"), _touch(marker)
        ),
        "functools.partial": _Call(_Call(functools.partial, os.system, _touch(marker))),
        "operator.methodcaller": _Call(
            _Call(operator.methodcaller, "system", _touch(marker)), _Call(builtins.__import__, "os")
        ),
        "subprocess.Popen": _Call(subprocess.Popen, ["touch", str(marker)]),
        "numpy.load": _Call(np.load, str(marker) + ".npy", None, True),  # allow_pickle=True: a second unpickle
        "torch.load": _Call(torch.load, str(marker) + ".pt", None, None, False),
    }


@pytest.mark.parametrize("name", list(_abuses("m")))
def test_each_kind_of_widening_is_refused_before_it_runs(tmp_path, name):
    marker = tmp_path / "pwned"
    path = tmp_path / "abuse.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": {"x": _abuses(marker)[name]}}, path)
    # Protocol 2 writes some names in their Python 2 spelling (__builtin__.getattr), so match the attribute only.
    attribute = name.split(".")[-1]
    with pytest.raises(UnsafeCheckpointError, match=rf"abuse\.pth refers to code outside the allow-list .*{attribute}"):
        load_checkpoint(path)
    assert not marker.exists()


# ----------------------------------------------------------------------------------------------- module. prefix
def _saved(tmp_path, keys):
    path = tmp_path / "prefix.pth"
    torch.save({"state_dict": {k: torch.full((1,), float(i)) for i, k in enumerate(keys)}}, path)
    return load_checkpoint(path)[0]


@pytest.mark.parametrize(
    "keys, expected",
    [
        (["module.a", "module.b.c"], ["a", "b.c"]),  # every key wrapped: strip once
        (["module.module.a"], ["module.a"]),  # only one level of wrapping
        (["module.a", "b"], ["module.a", "b"]),  # not every key: a real submodule named module
        (["modules.a", "module_b"], ["modules.a", "module_b"]),  # the prefix includes the dot
        (["b", "module.a"], ["b", "module.a"]),
    ],
)
def test_module_prefix_is_stripped_only_when_every_key_has_it(tmp_path, keys, expected):
    state_dict = _saved(tmp_path, keys)
    assert list(state_dict) == expected
    assert [float(v) for v in state_dict.values()] == list(map(float, range(len(keys))))  # values follow their keys


def test_unsafe_global_list_names_at_most_four(tmp_path):
    path = tmp_path / "many.pth"
    import datetime as dt
    import decimal
    import fractions
    import uuid

    torch.save(
        {
            "state_dict": {"w": torch.zeros(1)},
            "meta": [
                dt.date(2024, 1, 1),
                dt.timedelta(1),
                fractions.Fraction(1, 3),
                decimal.Decimal("1.5"),
                uuid.UUID(int=1),
                dt.time(1),
            ],
        },
        path,
    )
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint(path)
    # Sorted, the first four named, the rest counted.
    assert str(info.value) == (
        "many.pth refers to code outside the allow-list (datetime.date, datetime.time, "
        "datetime.timedelta, decimal.Decimal (+2 more)); refused without executing anything"
    )


@pytest.mark.parametrize("count, tail", [(4, "decimal.Decimal)"), (5, "decimal.Decimal (+1 more))")])
def test_four_offenders_are_all_named_five_are_counted(tmp_path, count, tail):
    import decimal
    import uuid

    values = [
        datetime.date(2024, 1, 1),
        datetime.time(1),
        datetime.timedelta(1),
        decimal.Decimal("1.5"),
        uuid.UUID(int=1),
    ][:count]
    path = tmp_path / "some.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": values}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value).endswith(f"{tail}; refused without executing anything"), str(info.value)


def test_offenders_are_named_alone_not_beside_torch_own_globals(tmp_path):
    # A zipped file refers to torch's tensor rebuilders and OrderedDict too; only the one foreign name is reported.
    path = tmp_path / "dated.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": {"time": datetime.date(2024, 8, 1)}}, path)
    with pytest.raises(UnsafeCheckpointError) as info:
        load_checkpoint(path)
    assert str(info.value) == (
        "dated.pth refers to code outside the allow-list (datetime.date); refused without executing anything"
    )


def test_scanner_follows_memoised_module_names():
    # Protocol 4 pushes "posix" once, memoises it and fetches it back for the second function of the same module.
    data = pickle.dumps([os.system, os.getcwd, os.path.join, os.getpid], protocol=4)
    assert b"\x94" in data and b"h" in data  # MEMOIZE and BINGET are really in the stream
    module = os.system.__module__
    assert globals_in_pickle(data) == {
        f"{module}.system",
        f"{module}.getcwd",
        f"{module}.getpid",
        f"{os.path.join.__module__}.join",
    }


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
def test_scanner_sees_every_protocol(protocol):
    data = pickle.dumps({"a": datetime.date, "b": [datetime.timedelta, OrderedDict]}, protocol=protocol)
    assert globals_in_pickle(data) == {"datetime.date", "datetime.timedelta", "collections.OrderedDict"}


def test_scanner_reads_pickles_back_to_back():
    # Legacy torch files are several pickles in a row; a global in the second one must be seen.
    data = pickle.dumps(1, protocol=2) + pickle.dumps(datetime.date, protocol=2)
    assert globals_in_pickle(data) == {"datetime.date"}


def test_broken_zip_is_reported_in_one_line(tmp_path):
    path = tmp_path / "broken.pth"
    path.write_bytes(b"PK\x03\x04" + bytes(200))
    # The reason is torch's own first line (its zip reader's words), not just an exception class name.
    with pytest.raises(
        CheckpointError, match=r"^broken\.pth is truncated or corrupt \(.*failed reading zip archive.*\)$"
    ) as info:
        load_checkpoint(path)
    assert "\n" not in str(info.value)


def test_unparseable_pickle_names_the_unpickler_reason(tmp_path):
    path = tmp_path / "zeros.pth"
    path.write_bytes(b"\x80\x02" + bytes(50))  # opcode 0x00 does not exist
    with pytest.raises(
        UnsafeCheckpointError,
        match=r"^zeros\.pth is corrupt or cannot be unpickled safely "
        r"\(Unsupported operand 0.*\)$",
    ):
        load_checkpoint(path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol 5:UserWarning")
def test_raw_pickle_of_the_newest_protocol_is_read_as_a_pickle(tmp_path):
    # Protocol 5 is a pickle header too: scanned and refused by name, not called "not a checkpoint".
    path = tmp_path / "p5.pth"
    path.write_bytes(pickle.dumps({"state_dict": {}, "meta": datetime.date(2024, 1, 1)}, protocol=5))
    with pytest.raises(UnsafeCheckpointError, match=r"datetime\.date"):
        load_checkpoint(path)


def test_torchscript_archive_is_named_as_such(tmp_path):
    path = tmp_path / "scripted.pth"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), str(path))
    with pytest.raises(CheckpointError, match=r"^scripted\.pth is a TorchScript archive, not a \.pth checkpoint$"):
        load_checkpoint(path)


def test_config_objects_and_odd_meta_become_plain_data(tmp_path, monkeypatch):
    # mmengine's Config (not a dict) pickles its state via BUILD; we keep that state under "config_state".
    import types

    module = types.ModuleType("mmengine.config.config")
    config = type("Config", (), {"__module__": "mmengine.config.config", "__getstate__": lambda self: self.__dict__})
    config.__qualname__ = "Config"
    module.Config = config
    for name, mod in (
        ("mmengine", types.ModuleType("mmengine")),
        ("mmengine.config", types.ModuleType("m.c")),
        ("mmengine.config.config", module),
    ):
        monkeypatch.setitem(sys.modules, name, mod)
    cfg = config()
    cfg.filename, cfg.text = "pose.py", "model = dict()"
    path = tmp_path / "cfg.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": {"cfg": cfg, "steps": (1, [cfg])}}, path)
    monkeypatch.delitem(sys.modules, "mmengine.config.config")
    state = {"filename": "pose.py", "text": "model = dict()"}
    _, meta = load_checkpoint(path)
    assert meta == {"cfg": {"config_state": state}, "steps": (1, [{"config_state": state}])}
    # A meta that is not a mapping is kept, under "meta".
    path = tmp_path / "listmeta.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": [1, 2]}, path)
    assert load_checkpoint(path)[1] == {"meta": [1, 2]}


@pytest.mark.parametrize(
    "stream, expected",
    [
        (b"(idatetime\ndate\n.", {"datetime.date"}),  # INST (protocol 0)
        (b"\x80\x04U\x08datetimeU\x04date\x93.", {"datetime.date"}),  # STACK_GLOBAL of STRINGs
        # BINPUT into slot 5 (not the next free one), fetched back by BINGET 5 for a second global
        (b"\x80\x04\x8c\x08datetimeq\x05\x8c\x04date\x93h\x05\x8c\x04time\x93.", {"datetime.date", "datetime.time"}),
    ],
    ids=["inst", "short-binstring", "binput-slot"],
)
def test_scanner_reads_hand_written_streams(stream, expected):
    # Streams a hostile file may use although Python's pickler would not write them so.
    assert globals_in_pickle(stream) == expected


def test_scanner_follows_memo_slots_beyond_255():
    # With more than 256 memoised values the module name is fetched back by LONG_BINGET.
    data = pickle.dumps([f"s{i}" for i in range(300)] + [datetime.date, datetime.time], protocol=4)
    assert globals_in_pickle(data) == {"datetime.date", "datetime.time"}


@pytest.fixture
def fake_mmengine_config(monkeypatch):
    """mmengine's ``Config`` class under its real name; a test drops the modules once its file is written."""
    import types

    module = types.ModuleType("mmengine.config.config")
    # Pickled with no state at all: __getstate__ returning None makes the pickler leave out BUILD.
    config = type("Config", (), {"__module__": "mmengine.config.config", "__getstate__": lambda self: None})
    config.__qualname__ = "Config"
    module.Config = config
    monkeypatch.setitem(sys.modules, "mmengine", types.ModuleType("mmengine"))
    monkeypatch.setitem(sys.modules, "mmengine.config", types.ModuleType("mmengine.config"))
    monkeypatch.setitem(sys.modules, "mmengine.config.config", module)
    return config


def test_config_pickled_without_state_becomes_an_empty_config_state(tmp_path, fake_mmengine_config):
    path = tmp_path / "nostate.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": {"cfg": fake_mmengine_config()}}, path)
    assert b"mmengine.config.config" in pickle.dumps(fake_mmengine_config(), protocol=2)  # the global is in the file
    for name in ("mmengine.config.config", "mmengine.config", "mmengine"):
        sys.modules.pop(name)
    assert load_checkpoint(path)[1] == {"cfg": {"config_state": None}}


def test_file_that_needs_the_allow_list_and_then_breaks_is_truncated_not_unsafe(tmp_path, fake_mmengine_config):
    # A legacy (pre-zip) file whose meta comes first: torch's plain weights_only load stops at mmengine's Config,
    # the second load with the allow-list gets past it and then runs out of bytes in the tensor data.
    legacy = tmp_path / "legacy.pth"
    payload = {"meta": {"cfg": fake_mmengine_config()}, "state_dict": {"w": torch.arange(1000.0)}}
    torch.save(payload, legacy, _use_new_zipfile_serialization=False)
    for name in ("mmengine.config.config", "mmengine.config", "mmengine"):
        sys.modules.pop(name)
    cut = write_truncated_copy(legacy, tmp_path / "cut.pth", fraction=0.5)
    with pytest.raises(CheckpointError, match=r"^cut\.pth is truncated or corrupt \(unexpected EOF[^)]*\)$") as info:
        load_checkpoint(cut)
    assert not isinstance(info.value, UnsafeCheckpointError)
