"""Makes ``ansible_collections.telphin.pbx`` importable from this checkout for every pytest run.

The checkout is linked as ``<tmp>/ansible_collections/telphin/pbx``; integration tests point
``ANSIBLE_COLLECTIONS_PATH`` at ``<tmp>`` (exported as ``TELPHIN_TEST_COLLECTIONS_ROOT``; one already
exported is reused). The link is made by ``tests.reliability.lib.collections_root``, which the reliability
scripts also use outside pytest.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.reliability.lib import collections_root  # the repository root is on sys.path (pytest.ini)

COLLECTIONS_ROOT = Path(collections_root())
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))
