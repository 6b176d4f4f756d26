"""Reliability and security evidence for telphin.pbx: chaos rollouts, the published figures.

``chaos.py`` runs a seeded fault-injected rollout against the emulator (also from the command line);
``report.py`` turns the results the tests write under ``tests/output/reliability/`` into
``docs/reliability.md``.
"""
