"""The real-time layer: the live protocol and its transport (DESIGN section 4).

It imports Django, Channels, redis, Django REST framework (commands validate their
fields with a serializer), the standard library, `core.errors` and itself: never the
domain (participation's other modules, broadcasts, leads), which registers what it
needs here instead (`ParticipationConfig.ready`). tests/test_architecture.py holds it
to that, and to an import graph without a cycle.

- names: every channel-layer group, Redis channel, key and client name
- frames: the wire format: encoding, numbering, a reconnecting page's resume point
- codes: error codes, close codes, the frame and outbox limits
- commands: the command registry (`live_command`) and a command's checks
- bus: the event bus (in memory, or Redis) that numbers, logs and publishes events
- hub: the per-event-loop hub that writes each event to its local connections
- counters: coalesced counters, published by the publisher the domain registers
- jobs: periodic jobs the domain registers; each hub runs them
- publish: publishing after the commit, and private messages
- batching: work that arrives together done together; database calls from the loop
- ratelimit: token buckets per connection, windows per key across processes
- compat: the work-arounds of today's Python, Channels and DRF, each with its end
"""
