"""The Janus SFU (MEDIA_BACKEND=janus): its configuration, process, API client and rooms.

Janus's VideoRoom plugin relays media; PrimeTime stays the control plane and the only
signalling path. Browsers never talk to Janus's API: each server process holds one
Janus session over Janus's WebSocket API (`client.py`), with a handle per peer
connection of its pages, and rooms are created and moderated through the Admin API.
"""
