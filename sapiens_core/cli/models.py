"""``models list|download|verify``: the official model cards and what is installed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from ..cards import CARDS, DETECTOR_CARDS, SAPIENS2_CARDS, SIZES, find_card
from ..errors import SapiensError
from ..licences import licence_for, write_licence_copy
from ..models_dir import default_models_dir, discover, installed_for
from . import check_fast

# A download refused for want of the licence's acceptance: a usage error, like a missing argument.
EXIT_LICENCE = 2


def add_parser(sub) -> None:
    p = sub.add_parser(
        "models",
        help="list, download and verify checkpoints",
        description="The official Sapiens model cards, what is installed, downloads from Hugging Face.",
    )
    p.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help=f"where checkpoints live (default: $SAPIENS_MODELS_DIR or {default_models_dir()})",
    )
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    ls = msub.add_parser("list", help="show the model cards and which are installed")
    ls.add_argument("--task", choices=("pose", "seg", "depth", "normal", "pointmap", "matting", "detect"))
    ls.add_argument("--size", choices=sorted({*SIZES, *(c.size for c in SAPIENS2_CARDS)}))
    ls.add_argument("--installed", action="store_true", help="only installed files (official or not)")
    ls.set_defaults(run=run_list)
    dl = msub.add_parser("download", help="download a card's checkpoint (needs internet; gigabytes)")
    dl.add_argument("card", help="card id, e.g. pose-0.3b-torchscript or detector-rtmdet-m (see `models list`)")
    dl.add_argument("--token", help="Hugging Face token, if the repository needs one")
    dl.add_argument(
        "--accept-license",
        action="store_true",
        help="accept the licence the weights come under (Sapiens2: read it first with `models license CARD`)",
    )
    dl.set_defaults(run=run_download)
    lc = msub.add_parser("license", help="print the licence a card's weights come under and its use restrictions")
    lc.add_argument("card", help="card id, e.g. sapiens2-pose-0.4b")
    lc.set_defaults(run=run_license)
    vf = msub.add_parser("verify", help="check installed files against their download records and that they load")
    vf.add_argument("files", nargs="*", type=Path, help="files to check (default: everything installed)")
    vf.set_defaults(run=run_verify)
    check_fast.add_parser(msub)


def run_list(args: argparse.Namespace) -> int:
    if args.installed:
        for m in discover(args.models_dir):
            print(f"{m.label:36s} {m.path}")
        return 0
    print(f"{'card':34s} {'task':8s} {'size':5s} {'format':11s} {'outputs':15s} {'installed':9s} repository")
    for card in (*CARDS, *SAPIENS2_CARDS):
        if (args.task and card.task != args.task) or (args.size and card.size != args.size):
            continue
        shape = "x".join(map(str, card.output_shape))
        here = "yes" if installed_for(card, args.models_dir) else "-"
        print(f"{card.id:34s} {card.task:8s} {card.size:5s} {card.format:11s} {shape:15s} {here:9s} {card.hf_repo}")
    for det in DETECTOR_CARDS:
        if (args.task and args.task != det.task) or args.size:
            continue
        here = "yes" if installed_for(det, args.models_dir) else "-"
        print(f"{det.id:34s} {det.task:8s} {det.size:5s} {det.format:11s} {'boxes':15s} {here:9s} {det.hf_repo}")
    return 0


def _card(card_id: str):
    try:
        return find_card(card_id)
    except KeyError as exc:
        raise SapiensError(exc.args[0]) from None


def run_license(args: argparse.Namespace) -> int:
    card = _card(args.card)
    licence = licence_for(card)
    if licence is None:
        print(f"{card.id}: no licence to accept here; see {card.hf_repo} on Hugging Face for its terms")
        return 0
    print(licence.text, end="")
    return 0


def run_download(args: argparse.Namespace) -> int:
    from ..hub import download

    card = _card(args.card)
    licence = licence_for(card)
    if licence is not None and not args.accept_license:
        # The licence binds whoever uses the weights: nothing is fetched before the user has said yes to it.
        print(
            f"{card.id} comes under the {licence.name} (commercial use allowed, with use restrictions). Read it "
            f"with `python -m sapiens_core models license {card.id}` (binding text: {licence.url}), then download "
            "again with --accept-license.",
            file=sys.stderr,
        )
        return EXIT_LICENCE
    bar = tqdm(total=int(card.approx_bytes), unit="B", unit_scale=True, file=sys.stderr, desc=card.id, disable=None)

    def progress(done: int, total: int) -> None:
        if total:
            bar.total = total
        bar.n = done
        bar.refresh()

    try:
        path = download(card, args.models_dir, progress=progress, token=args.token)
    finally:
        bar.close()
    if licence is not None:
        write_licence_copy(licence, path.parent)  # the licence asks for a copy to travel with the weights
    print(path)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from ..hub import verify_file

    files = args.files or [m.path for m in discover(args.models_dir)]
    if not files:
        print(f"no checkpoints installed in {args.models_dir or default_models_dir()}")
        return 0
    bad = 0
    for path in files:
        try:
            print(f"ok: {verify_file(path)}")
        except SapiensError as exc:
            bad += 1
            print(f"bad: {exc}", file=sys.stderr)
    return 1 if bad else 0
