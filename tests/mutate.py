"""Mutation testing, one module at a time, each with the tests that matter for it (``make mutate``).

mutmut (3.x) reads one ``[tool.mutmut]`` table and, before mutating anything, runs the selected tests once to learn
which test reaches which function. Over the whole suite (GUI tests, tiny models) that first pass alone takes longer
than the mutants of a small module, so every module below gets its own scratch copy of the tree under
``build/mutate/<module>/`` with a table that mutates only that file and selects only its tests. Results stay in
that folder (``mutmut results`` / ``mutmut show NAME`` work there), a summary is printed per module.

    python tests/mutate.py                                   # every module in MODULES
    python tests/mutate.py sapiens_core/tasks/heatmap.py     # one module
    python tests/mutate.py --timeout 900 --max-children 2 ...

Why mutmut 3 and not cosmic-ray: it installs beside the pinned stack with no conflicts, needs no session database
or config file per run, and its fork-per-mutant runner keeps torch and numpy imported once per module.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRATCH = ROOT / "build" / "mutate"

# Modules where a wrong sign or boundary changes users' results or safety -> the test files that pin them.
MODULES: dict[str, list[str]] = {
    "sapiens_core/tasks/heatmap.py": ["tests/core/test_heatmap_decode.py"],
    "sapiens_core/tasks/crop.py": ["tests/core/test_crop.py"],
    "sapiens_core/tasks/pose.py": ["tests/core/test_pose_flip.py"],
    # The peak-memory test runs a 10 s subprocess per mutant and pins no value the others miss.
    "sapiens_core/tasks/dense.py": [
        "tests/core/test_dense.py",
        "--deselect=tests/core/test_dense.py::test_peak_memory_stays_bounded_in_a_real_run",
    ],
    "sapiens_core/tasks/preprocess.py": [
        "tests/core/test_dense.py",
        "tests/core/test_pose_flip.py",
        "--deselect=tests/core/test_dense.py::test_peak_memory_stays_bounded_in_a_real_run",
    ],
    # The Sapiens2 tasks: seg stretch, pose crop interpolation, padding, pointmap/normal/matte post-processing.
    **{
        module: [
            f"tests/core/test_{name}_mutants.py",
            "tests/core/test_sapiens2_tasks.py",
            "tests/core/test_sapiens2_pipeline.py",
            "tests/core/test_sapiens2_matting.py",
        ]
        for module, name in (
            ("sapiens_core/tasks/sapiens2.py", "sapiens2_tasks"),
            ("sapiens_core/tasks/sapiens2_outputs.py", "sapiens2_outputs"),
            ("sapiens_core/tasks/sapiens2_matting.py", "sapiens2_matting"),
        )
    },
    "sapiens_core/tasks/udp_codec.py": ["tests/core/test_udp_codec_mutants.py", "tests/trainer/test_codec.py"],
    "sapiens_core/io/checkpoints.py": ["tests/core/test_checkpoints.py"],
    "sapiens_core/quick/mapping.py": ["tests/core/test_quick.py"],
    # The property test (seconds per run) pins nothing the targeted tests miss; it would make each mutant slow.
    "sapiens_core/annotation/edits.py": [
        "tests/core/test_edits_mutants.py",
        "tests/core/test_edits_steps_mutants.py",
        "tests/core/test_edits.py",
        "tests/core/test_edit_macro_drag.py",
        "--deselect=tests/core/test_edits.py::"
        "test_any_sequence_undone_is_the_original_and_redone_is_the_edited_document_byte_for_byte",
    ],
    "sapiens_core/annotation/history.py": [
        "tests/core/test_history_steps.py",
        "tests/core/test_edits.py",
        "tests/core/test_edit_macro_drag.py",
    ],
    # The end-to-end re-run of a model (seconds per run) pins nothing the merge tests miss.
    "sapiens_core/annotation/tile_edits.py": [
        "tests/core/test_tile_edits_mutants.py",
        "tests/core/test_tile_edits.py",
        "tests/core/test_merge_painted_pixels.py",
        "--deselect=tests/core/test_merge_painted_pixels.py::"
        "test_predict_into_a_project_keeps_painted_pixels_and_overwrite_replaces_them",
    ],
    "sapiens_core/annotation/merge.py": [
        "tests/core/test_merge_mutants.py",
        "tests/core/test_merge_painted_pixels.py",
        "tests/core/test_project.py",
        "--deselect=tests/core/test_merge_painted_pixels.py::"
        "test_predict_into_a_project_keeps_painted_pixels_and_overwrite_replaces_them",
    ],
    "sapiens_core/annotation/shapes.py": [
        "tests/core/test_shapes_mutants.py",
        "tests/core/test_tile_edits.py",
        "tests/core/test_annotation.py",
    ],
    "sapiens_core/annotation/display.py": [
        "tests/core/test_display_mutants.py",
        "tests/core/test_display.py",
        "tests/core/test_render.py",
    ],
    "sapiens_core/annotation/person.py": ["tests/core/test_person_mutants.py", "tests/core/test_annotation.py"],
    "sapiens_core/annotation/layers.py": [
        "tests/core/test_layers_mutants.py",
        "tests/core/test_annotation.py",
        "tests/core/test_matte_document.py",
        "tests/core/test_format_depth_normal.py",
    ],
    "sapiens_core/annotation/document.py": [
        "tests/core/test_document_mutants.py",
        "tests/core/test_annotation.py",
        "tests/core/test_matte_document.py",
    ],
    # The flat-memory test streams thousands of documents (seconds per run) and pins no value the others miss.
    "sapiens_core/export/coco.py": [
        "tests/core/test_export_coco_mutants.py",
        "tests/core/test_export_coco.py",
        "tests/core/test_export_coco17.py",
        "tests/core/test_export_coco_bad_input.py",
        "tests/core/test_track_fields.py",
        "--deselect=tests/core/test_export_coco.py::test_writer_streams_a_one_shot_iterable_with_flat_memory",
    ],
    "sapiens_core/export/coco_read.py": [
        "tests/core/test_import_coco_mutants.py",
        "tests/core/test_export_coco.py",
        "tests/core/test_export_coco17.py",
        "tests/core/test_export_coco_bad_input.py",
        "tests/core/test_track_fields.py",
        "--deselect=tests/core/test_export_coco.py::test_writer_streams_a_one_shot_iterable_with_flat_memory",
    ],
    # Person masks and side files in COCO: written by coco.py, read by coco_read.py; same selection minus the stream.
    "sapiens_core/export/coco_layers.py": [
        "tests/core/test_coco_layers_mutants.py",
        "tests/core/test_import_coco_mutants.py",
        "tests/core/test_export_coco_mutants.py",
        "tests/core/test_export_coco.py",
        "tests/core/test_export_coco17.py",
        "tests/core/test_export_coco_bad_input.py",
        "--deselect=tests/core/test_export_coco.py::test_writer_streams_a_one_shot_iterable_with_flat_memory",
    ],
    "sapiens_core/export/matting.py": [
        "tests/core/test_format_matting_mutants.py",
        "tests/core/test_format_matting.py",
        "tests/core/test_matte_document.py",
    ],
    "sapiens_core/export/masks.py": [
        "tests/core/test_export_masks_mutants.py",
        "tests/core/test_export_masks.py",
        "tests/core/test_format_masks.py",
    ],
    "sapiens_core/export/labelme.py": [
        "tests/core/test_format_labelme_mutants.py",
        "tests/core/test_format_labelme_import_mutants.py",
        "tests/core/test_format_labelme.py",
    ],
    "sapiens_core/export/depth_normal.py": [
        "tests/core/test_depth_normal_mutants.py",
        "tests/core/test_format_depth_normal.py",
        "tests/core/test_format_pointmap.py",
    ],
    "sapiens_core/export/sapiens_lite.py": [
        "tests/core/test_sapiens_lite_mutants.py",
        "tests/core/test_format_sapiens_lite.py",
    ],
    "sapiens_core/render/overlay.py": ["tests/core/test_overlay_mutants.py", "tests/core/test_render.py"],
    # The canvas rules: what is shown (groups, threshold, persons) and what the pointer picks.
    "app/canvas/skeleton_item.py": ["tests/app/test_canvas_rules_mutants.py", "tests/app/test_canvas_rules.py"],
    # Not test_main_window.py's model runs: each mutant's run would build and run the tiny models (tens of seconds),
    # and they pin no scene rule the tests below miss (threshold, keypoints toggle, hidden classes, layer opacity).
    "app/canvas/scene.py": [
        "tests/app/test_scene_mutants.py",
        "tests/app/test_canvas_rules.py",
        "tests/app/test_canvas_rules_mutants.py",
        "tests/app/test_tiled_layer.py",
        "tests/app/test_person_boxes.py",
        "tests/app/test_paint_tools.py",
        "tests/app/test_main_window.py::test_layer_style_and_device_persist_to_a_new_window",
    ],
}

# Copied into each scratch tree: the packages the tests import and the data they read.
COPY = ["sapiens_core", "app", "trainer", "tests", "resources", "main.py"]


def _table(module: str, tests: list[str]) -> str:
    package = module.split("/")[0]
    quoted = ", ".join(f'"{t}"' for t in tests)
    # mutmut runs the tests inside mutants/, which holds only the mutated package and the tests: bring the rest.
    also = ", ".join(f'"{name}"' for name in COPY if name not in (package, "tests"))
    return (
        "[tool.mutmut]\n"
        f'source_paths = ["{package}"]\n'
        f"also_copy = [{also}]\n"
        f'only_mutate = ["{module}"]\n'
        f"pytest_add_cli_args_test_selection = [{quoted}]\n"
        'pytest_add_cli_args = ["-q", "-x", "-p", "no:cacheprovider", "-p", "no:randomly"]\n'
        # torch and Qt are not fork-safe after a test run in the parent; a bare fork server is.
        'process_isolation = "forkserver"\n'
        "timeout_multiplier = 5.0\n"
        # mutmut's limit scales the tests' call time, which leaves out the main window each app test builds:
        # under load, surviving canvas mutants ran out of time and were filed as (false) timeouts.
        + ("timeout_constant = 20.0\n" if module.startswith("app/") else "")
        + "use_git_change_detection = false\n"
        "\n[tool.pytest.ini_options]\n"
        'testpaths = ["tests"]\n'
        'markers = ["slow: takes minutes"]\n'
        'filterwarnings = ["ignore::DeprecationWarning:torch.*"]\n'
    )


def _prepare(module: str, tests: list[str]) -> Path:
    work = SCRATCH / module.replace("/", "_").removesuffix(".py")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPY:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, work / name)
    (work / "pyproject.toml").write_text(_table(module, tests))
    return work


def _summary(work: Path) -> tuple[dict[str, int], list[str]]:
    """Counts per status and the surviving mutant names, from ``mutmut results --all true``."""
    out = subprocess.run(
        [str(Path(sys.executable).parent / "mutmut"), "results", "--all", "true"],
        cwd=work,
        capture_output=True,
        text=True,
    ).stdout
    counts: dict[str, int] = {}
    survivors = []
    for line in out.splitlines():
        match = re.match(r"\s*(\S+): (.+)$", line)
        if not match:
            continue
        name, status = match.groups()
        counts[status] = counts.get(status, 0) + 1
        if status == "survived":
            survivors.append(name)
    return counts, survivors


def run(module: str, tests: list[str], timeout: float, max_children: int) -> int:
    work = _prepare(module, tests)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    started = time.monotonic()
    print(f"== {module} ({', '.join(tests)})", flush=True)
    # Its own process group, so a timeout also ends mutmut's fork server and the mutant being tested.
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "mutmut"), "run", "--max-children", str(max_children)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        process.wait(timeout=timeout)
        note = ""
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        note = f" (stopped after {timeout:.0f} s: unchecked mutants remain)"
    counts, survivors = _summary(work)
    total = sum(counts.values())
    # A mutant whose test run crashes (mutmut's "segfault": SIGSEGV, or SIGKILL) failed the tests too. Under Qt
    # this is the common case: an exception raised inside a C++ virtual (hoverMoveEvent, paint) during a
    # synthetic event aborts the process, in a plain pytest run as much as in mutmut's forked child.
    killed = counts.get("killed", 0) + counts.get("timeout", 0) + counts.get("segfault", 0)
    print(
        f"   {killed}/{total} killed in {time.monotonic() - started:.0f} s{note}; "
        + ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    )
    for name in survivors:
        print(f"   survived: {name}")
    print(f"   details: cd {work.relative_to(ROOT)} && mutmut show NAME", flush=True)
    return len(survivors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help="paths from MODULES (default: all)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per module (default 1800)")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"not in MODULES: {', '.join(unknown)}")
    for module in args.modules or MODULES:
        run(module, MODULES[module], args.timeout, args.max_children)
    return 0


if __name__ == "__main__":
    sys.exit(main())
