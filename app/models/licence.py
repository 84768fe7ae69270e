"""Licences in the model manager: the selected card's terms and use restrictions, and the acceptance asked for before
the first download of weights under a licence (the Sapiens2 License binds whoever uses them: Sapiens2 spec §5).

Acceptance is stored in QSettings per licence, as the digest of the text the user read: a changed text asks again.
The dialog is opened with ``open()``, never ``exec()``: the event loop keeps running, and the download starts from
its ``accepted`` signal.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout

from sapiens_core.cards import ModelCard
from sapiens_core.licences import Licence, licence_for

from ..settings import Settings

# v1's weights on Hugging Face are CC-BY-NC-4.0 (Sapiens2 spec §5): said in the manager so the contrast is visible.
V1_NOTE = "Sapiens v1 weights: CC-BY-NC-4.0 (non-commercial use only)."


class LicenceDialog(QDialog):
    """The licence text with Accept / Decline; ``accepted`` fires on Accept."""

    def __init__(self, licence: Licence, card_id: str, parent=None) -> None:
        super().__init__(parent, objectName="licenceDialog")
        self.licence = licence
        self.setWindowTitle(f"{licence.name} — accept before downloading")
        self.resize(720, 560)
        intro = QLabel(
            f"{html.escape(card_id)} comes under the <b>{html.escape(licence.name)}</b>. Read the terms and its use "
            f'restrictions; the binding text is at <a href="{licence.url}">{html.escape(licence.url)}</a>. '
            "Downloading needs your acceptance; a copy is kept beside the weights.",
            objectName="licenceIntro",
            wordWrap=True,
            openExternalLinks=True,
        )
        self.text = QTextBrowser(objectName="licenceText", openExternalLinks=True)
        self.text.setMarkdown(licence.text)
        buttons = QDialogButtonBox()
        accept = buttons.addButton("Accept", QDialogButtonBox.ButtonRole.AcceptRole)
        decline = buttons.addButton("Decline", QDialogButtonBox.ButtonRole.RejectRole)
        accept.setObjectName("acceptLicence")
        decline.setObjectName("declineLicence")
        # Enter alone must not agree to a licence: Accept never becomes the default, even when it has the focus.
        accept.setAutoDefault(False)
        decline.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)


def ask_licence(parent, settings: Settings, card, proceed: Callable[[], object]) -> LicenceDialog | None:
    """Call ``proceed`` now when ``card`` needs no acceptance (or it was given for this text before); otherwise
    show the licence and call it on Accept, remembering the acceptance. Returns the dialog shown, if any."""
    licence = licence_for(card)
    if licence is None or settings.licence_accepted(licence.key, licence.digest):
        proceed()
        return None
    dialog = LicenceDialog(licence, card.id, parent)

    def accepted() -> None:
        settings.accept_licence(licence.key, licence.digest)
        proceed()

    dialog.accepted.connect(accepted)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog


def licence_summary(card, settings: Settings) -> str:
    """Rich text for the manager: the licence, whether it allows commercial use, and its use restrictions."""
    licence = licence_for(card)
    if licence is None:
        return V1_NOTE if isinstance(card, ModelCard) else ""
    state = "accepted" if settings.licence_accepted(licence.key, licence.digest) else "asked for before the download"
    items = "".join(f"<li>{html.escape(r)}</li>" for r in licence.restrictions)
    return (
        f'<b>{html.escape(licence.name)}</b> (<a href="{licence.url}">full text</a>; {state}): commercial use '
        f"allowed. Your use must not involve, or encourage others to use it for:<ul>{items}</ul>"
    )
