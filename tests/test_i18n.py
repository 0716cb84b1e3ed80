import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import i18n


def test_every_message_has_a_german_text():
    assert i18n.missing() == []
