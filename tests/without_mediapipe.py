"""Python source to start a subprocess with: from then on importing mediapipe fails, as on a machine without it."""

BLOCK_MEDIAPIPE = (
    "import sys\n"
    "class _BlockMediapipe:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name == 'mediapipe' or name.startswith('mediapipe.'):\n"
    "            raise ImportError('blocked')\n"
    "sys.meta_path.insert(0, _BlockMediapipe())\n"
)
