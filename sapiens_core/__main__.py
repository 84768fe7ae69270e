"""``python -m sapiens_core``: the headless command line."""

from .cli import main

if __name__ == "__main__":  # not when multiprocessing imports it again in a worker process
    raise SystemExit(main())
