"""The terminal inspector (Textual). Only the CLI imports it, lazily: the core, the HTTP layer
and the pytest plugin never do (tests/test_hygiene.py checks it).

Modules: app (the App and its batching), factory (create_app), backend (the interface it reads
through) with local (in process) and remote (attached over the control API), log (what the
event table holds), table, columns, filterbar, statusbar, detail, jsontree, diff, destinations
and deliveries, violations, assertions and checks, columnpicker, help, run (the CLI's entry).
"""
