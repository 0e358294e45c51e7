"""Where the repository and the (optional) reference set are, for tests at any depth."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_REFERENCE = REPO_ROOT.parent / "shared" / "reference"
MAGENTO_SCHEMA_DIR = SHARED_REFERENCE / "magento-schema"


def requires_reference(path: Path) -> pytest.MarkDecorator:
    """Tests that read ../shared say so: a user's clone has no such folder."""
    return pytest.mark.skipif(
        not path.exists(), reason=f"reads {path} (the project's reference set), absent in this clone"
    )
