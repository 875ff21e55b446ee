"""The small shared kernel every app builds on: domain errors and their HTTP mapping,
state machines as tables, row locks, display names, admin actions. It imports Django
and DRF only, never an app."""
