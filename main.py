"""Launch Sapiens Studio: ``python main.py [IMAGES_OR_FOLDERS...]`` (see ``--help``)."""

from app.__main__ import main

if __name__ == "__main__":
    raise SystemExit(main())
