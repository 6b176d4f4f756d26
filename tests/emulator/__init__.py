"""A local emulator of the provider API (Telphin ver1.0) for the tests and benchmarks of telphin.pbx.

    from tests.emulator import Emulator
    with Emulator("docs/examples/world.yml") as emu:
        ...  # emu.url, emu.requests(), emu.state(), emu.set_faults([...])

See docs/emulator.md.
"""

from .server import Emulator
from .world import WorldError
from .worlds import generate_world

__all__ = ["Emulator", "WorldError", "generate_world"]
