"""``python -m sapiens_core.geometry.viewer FILE.ply``: show a point cloud in Open3D's own window.

The app starts this as a separate process on purpose: Open3D's window has its own GL context and event
loop (GLFW), cannot be embedded in Qt, and a driver crash in there must not take the app down with it.

The window is Open3D's legacy ``Visualizer``, the class ``draw_geometries`` wraps, used directly because it
also sets the point size and reports when no window can be made. The first view looks from the camera
that took the photo (clouds from ``depth_to_points`` use x right, y down, z forward), so it starts out
looking like the image. ``--screenshot`` renders one frame without a window and exits (tests, previews):
Open3D falls back to EGL off-screen rendering when there is no display.

Exit status: 0 shown (or screenshot written), 1 the file or the window failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m sapiens_core.geometry.viewer",
        description="Show a .ply point cloud in Open3D's viewer window "
        "(drag: rotate, wheel: zoom, shift-drag: roll, ctrl-drag: pan, "
        "+/-: point size, h: all keys).",
    )
    p.add_argument("file", type=Path, metavar="FILE.ply", help="the point cloud to show")
    p.add_argument("--point-size", type=float, default=2.0, metavar="PX", help="point size in pixels (default 2)")
    p.add_argument("--title", help="window title (default: the file name)")
    p.add_argument("--width", type=int, default=1280, help="window width in pixels (default 1280)")
    p.add_argument("--height", type=int, default=960, help="window height in pixels (default 960)")
    p.add_argument(
        "--screenshot",
        type=Path,
        metavar="OUT.png",
        help="render one frame off-screen to OUT.png and exit instead of opening a window",
    )
    return p


def _has_display() -> bool:
    """On Linux without X or Wayland Open3D silently renders off-screen, and run() would then wait forever on a
    window nobody can see or close; other systems always have a desktop."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _look_from_camera(vis, cloud) -> None:
    view = vis.get_view_control()
    view.set_lookat(np.asarray(cloud.get_center()))
    view.set_front([0.0, 0.0, -1.0])  # Open3D's "front" points from the target back to the eye: the eye is at -z
    view.set_up([0.0, -1.0, 0.0])  # image rows grow downwards (+y), so up is -y
    view.set_zoom(0.7)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.file.is_file():
        print(f"error: no such file: {args.file}", file=sys.stderr)
        return 1
    if args.screenshot is None and not _has_display():
        print(
            "error: no display to open a window on (DISPLAY is not set); use --screenshot OUT.png to render "
            "to a file instead",
            file=sys.stderr,
        )
        return 1
    try:
        from .pointcloud import _open3d

        o3d = _open3d()
        cloud = o3d.io.read_point_cloud(str(args.file), format="ply")
    except Exception as exc:  # a viewer: report in one line, no traceback
        print(f"error: cannot read {args.file}: {exc}", file=sys.stderr)
        return 1
    if cloud.is_empty():
        print(f"error: {args.file} holds no points (or is not a PLY file)", file=sys.stderr)
        return 1

    vis = o3d.visualization.Visualizer()
    visible = args.screenshot is None
    if not vis.create_window(
        window_name=args.title or args.file.name, width=args.width, height=args.height, visible=visible
    ):
        print("error: Open3D could not open a window (no OpenGL 3.3 context?)", file=sys.stderr)
        return 1
    try:
        vis.add_geometry(cloud)
        options = vis.get_render_option()
        options.point_size = float(args.point_size)
        options.background_color = np.array([0.1, 0.1, 0.12])
        _look_from_camera(vis, cloud)
        if visible:
            vis.run()
        else:
            vis.poll_events()
            vis.update_renderer()
            args.screenshot.parent.mkdir(parents=True, exist_ok=True)
            vis.capture_screen_image(str(args.screenshot), do_render=True)
            if not args.screenshot.is_file():
                print(f"error: could not write {args.screenshot}", file=sys.stderr)
                return 1
    finally:
        vis.destroy_window()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
