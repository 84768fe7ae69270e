"""``python main.py [IMAGES_OR_FOLDERS...]`` / ``python -m app``: launch Sapiens Studio.

``--screenshot OUT.png`` runs the given models on the first image, waits for the results, saves a
screenshot of the main window and exits (0 on success, 1 with a message on failure); it works with
``QT_QPA_PLATFORM=offscreen``.

``--script FILE.py`` runs FILE.py with a ``studio`` object driving the app's edits (see ``app.scripting``) and exits
when it ends: 0, or 1 with the traceback when it raised. Without it (and without ``--screenshot``) the app offers to
restore unsaved edits an earlier session left behind.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# app.settings.TASKS, written out: importing it would load Qt before the arguments are parsed (--help stays fast).
_TASKS = ("pose", "seg", "depth", "normal", "pointmap", "matting")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sapiens-studio", description="Sapiens Studio: annotate and analyse images of people."
    )
    p.add_argument("paths", nargs="*", help="images, folders or a video to open")
    pose = p.add_mutually_exclusive_group()
    for task in _TASKS:
        (pose if task == "pose" else p).add_argument(
            f"--{task}",
            metavar="CKPT",
            help=f"{task} checkpoint to use; models given here are exactly what runs (the model manager's are ignored)",
        )
    pose.add_argument(
        "--quick",
        action="store_true",
        help="pose from the quick CPU model (MediaPipe Holistic, no download) instead of a checkpoint",
    )
    p.add_argument(
        "--detector",
        metavar="CKPT|auto",
        help="with models given here: person boxes before pose from an RTMDet .pth or ONNX detector, or auto (the "
        "installed official detector, else the seg model's foreground); without it they run on whole images",
    )
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="where to run the models")
    p.add_argument(
        "--screenshot",
        type=Path,
        metavar="OUT.png",
        help="run the models on the first image, save a screenshot of the window and exit",
    )
    p.add_argument(
        "--script",
        type=Path,
        metavar="FILE.py",
        help="run FILE.py with a `studio` object that edits through the app (see the README), then exit",
    )
    p.add_argument("--timeout", type=float, default=900, help="give up a --screenshot run after this many seconds")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--open3d-viewer"]:
        # A bundled app has no separate Python to run `-m sapiens_core.geometry.viewer`: the 3D view starts
        # this executable again with this flag, and the viewer runs in that child process.
        from sapiens_core.geometry.viewer import main as viewer_main

        return viewer_main(argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from sapiens_core.pipeline import QUICK_MODEL_ID

    from .main_window import MainWindow
    from .models.choice import DETECTOR
    from .screenshot import ScreenshotRun

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Sapiens Studio")
    app.setOrganizationName("SapiensStudio")
    window = MainWindow()
    tasks = _TASKS
    window.model_overrides = {t: getattr(args, t) for t in tasks if getattr(args, t)}
    if args.quick:
        window.model_overrides["pose"] = QUICK_MODEL_ID
    if args.detector and window.model_overrides:
        window.model_overrides[DETECTOR] = args.detector
    window.refresh_models()
    if args.device:
        window.device_combo.setCurrentText(args.device)
    window.resize(1280, 860)
    window.show()
    if args.paths:
        window.add_paths(args.paths)
    if args.screenshot:
        run = ScreenshotRun(window, args.screenshot, args.timeout)
        run.start()
        app.exec()
        return run.exit_code
    if args.script:
        from .scripting import run_script

        if not args.script.is_file():
            print(f"sapiens-studio: no script at {args.script}", file=sys.stderr)
            return 2
        return run_script(app, window, args.script)
    QTimer.singleShot(0, window.workflow.offer_recovery)  # once the window shows: unsaved edits of a crash
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
