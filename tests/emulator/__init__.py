"""A local emulator of the provider API (Telphin ver1.0) for the tests and benchmarks of telphin.pbx.

    from tests.emulator import Emulator
    with Emulator("docs/examples/world.yml") as emu:
        ...  # emu.url, emu.requests(), emu.state(), emu.set_faults([...])
    with Emulator("docs/examples/world.yml", variant="page-cap-refuses") as emu:
        ...  # a provider variant: VARIANTS names them, PROVIDER_KEYS lists what one may change

See docs/emulator.md.
"""

from .server import Emulator
from .variants import PROVIDER_KEYS, VARIANTS
from .world import WorldError
from .worlds import generate_world

__all__ = ["Emulator", "PROVIDER_KEYS", "VARIANTS", "WorldError", "generate_world"]
