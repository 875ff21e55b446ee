"""The Janus configuration we ship, rendered from settings (`manage.py janus`)."""

import pytest

from broadcasts.janus.config import configuration, janus_secret, library_dir, render_jcfg
from broadcasts.janus.rooms import publisher_token, room_id, room_secret


@pytest.fixture
def lib(tmp_path):
    """A Janus library folder as Debian lays it out."""
    for kind, names in {
        "plugins": ["libjanus_videoroom.so", "libjanus_streaming.so", "libjanus_echotest.so"],
        "transports": ["libjanus_websockets.so", "libjanus_http.so"],
        "loggers": ["libjanus_jsonlog.so"],
        "events": ["libjanus_sampleevh.so"],
    }.items():
        (tmp_path / kind).mkdir()
        for name in names:
            (tmp_path / kind / name).touch()
    return tmp_path


def test_apis_on_loopback_videoroom_only_our_secret(lib, tmp_path, settings):
    settings.JANUS_URL = "ws://127.0.0.1:8188"
    settings.JANUS_ADMIN_URL = "ws://localhost:7188"
    settings.JANUS_RTP_PORTS = "20000-20999"
    files = configuration(tmp_path / "conf", lib)
    core, transport = files["janus.jcfg"], files["janus.transport.websockets.jcfg"]
    videoroom = files["janus.plugin.videoroom.jcfg"]
    secret = janus_secret()
    assert f'api_secret = "{secret}"' in core and f'admin_secret = "{secret}"' in core
    assert 'disable = "libjanus_echotest.so,libjanus_streaming.so"' in core
    assert 'disable = "libjanus_http.so"' in core
    assert 'rtp_port_range = "20000-20999"' in core
    assert 'ws_ip = "127.0.0.1"' in transport and "ws_port = 8188" in transport
    assert 'admin_ws_ip = "127.0.0.1"' in transport and "admin_ws_port = 7188" in transport
    assert "wss = false" in transport
    # Nobody without the key creates rooms; no demo rooms.
    assert f'admin_key = "{secret}"' in videoroom and "room-" not in videoroom
    assert "janusoverlord" not in core


def test_media_address_nat_and_ice_servers(lib, tmp_path, settings):
    settings.JANUS_MEDIA_IP = "10.0.0.5"
    settings.JANUS_PUBLIC_IP = "203.0.113.7"
    settings.ICE_SERVER_URLS = ["stun:stun.example.com:3479", "turn:turn.example.com"]
    core = configuration(tmp_path / "conf", lib)["janus.jcfg"]
    assert 'interface = "10.0.0.5"' in core and 'ice_enforce_list = "10.0.0.5"' in core
    assert 'nat_1_1_mapping = "203.0.113.7"' in core
    assert 'stun_server = "stun.example.com"' in core and "stun_port = 3479" in core
    # Janus is reachable at its media address: the TURN relay is the browsers' own.
    assert "turn_" not in core


def test_a_value_that_would_break_the_file_is_refused():
    with pytest.raises(ValueError):
        render_jcfg({"general": {"api_secret": 'a"b'}})


def test_the_library_is_found_or_its_absence_explained(lib, tmp_path):
    binary = tmp_path / "bin" / "janus"
    binary.parent.mkdir()
    binary.touch()
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "janus").symlink_to(lib)
    assert library_dir(str(binary)) == tmp_path / "lib" / "janus"


def test_room_ids_and_secrets_are_derived_private_and_distinct(settings):
    first, second = room_id(1), room_id(2)
    assert first != second and 0 < first < 2**52
    assert room_secret(first) != room_secret(second)
    assert publisher_token(first, 10) != publisher_token(first, 11)
    settings.JANUS_SECRET = "another"
    assert room_id(1) != first, "a different secret gives different rooms"
