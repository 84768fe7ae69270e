"""Editing in the app: the open documents with their histories, and the tools that send edits to them."""

from .document_model import DocumentModel, OpenDocument

__all__ = ["DocumentModel", "OpenDocument"]
