"""Long-running work the app starts in the background (export, …), as plain functions run by ``JobRunner``."""
