"""The small shared kernel every app builds on: domain errors, state machines as tables
and row locks. It imports Django only, never an app."""
