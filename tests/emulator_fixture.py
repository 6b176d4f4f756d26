"""The shared body of the fixtures that start API emulators on loopback and stop them after the test.

Used by ``emulator_factory`` (tests/integration/conftest.py) and ``start`` (tests/emulator_tests)::

    @pytest.fixture
    def start() -> Iterator[StartEmulator]:
        yield from emulators(make_world)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Union

from tests.emulator import Emulator

World = Union[Dict[str, Any], str, Path]
StartEmulator = Callable[..., Emulator]


def emulators(default_world: Optional[Callable[[], World]] = None) -> Iterator[StartEmulator]:
    """Yield ``start(world=None, **kwargs)``, which starts an ``Emulator(world, **kwargs)`` (an empty ``world``
    means ``default_world()``), then stop every emulator started."""
    started: List[Emulator] = []

    def start(world: Optional[World] = None, **kwargs: Any) -> Emulator:
        if not world and default_world is not None:
            world = default_world()
        if world is None:
            raise TypeError("start() needs a world: this fixture has no default world")
        emu = Emulator(world, **kwargs)
        emu.start()
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()
