"""Makes ``ansible_collections.telphin.pbx`` importable from this checkout for every pytest run.

The checkout is linked as ``<tmp>/ansible_collections/telphin/pbx``; integration tests point
``ANSIBLE_COLLECTIONS_PATH`` at ``<tmp>`` (exported as ``TELPHIN_TEST_COLLECTIONS_ROOT``).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
COLLECTIONS_ROOT = Path(tempfile.mkdtemp(prefix="telphin-collections-"))
_link = COLLECTIONS_ROOT / "ansible_collections" / "telphin" / "pbx"
_link.parent.mkdir(parents=True)
_link.symlink_to(REPO_ROOT, target_is_directory=True)
atexit.register(shutil.rmtree, COLLECTIONS_ROOT, True)
os.environ["TELPHIN_TEST_COLLECTIONS_ROOT"] = str(COLLECTIONS_ROOT)
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))
