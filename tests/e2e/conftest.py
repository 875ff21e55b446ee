import contextlib
import os
import shutil

import pytest
from django.conf import settings

from tests.e2e.shop import shop_site
from tests.janus import running_janus
from tests.servers import ARTIFACTS, free_port, running_server, running_worker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Janus's candidates are on 127.0.0.2 (tests/janus.py): let WebRTC use loopback, and
    # give host candidates as addresses rather than .local names.
    "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]


# A screenshot of every page of a browser test at its end costs a fraction of a second a
# page: taken when the test failed, or for every test with PRIMETIME_E2E_SCREENSHOTS=all
# (to look at what was built). The stories' own named screenshots are always taken.
SCREENSHOT_EVERY_TEST = os.environ.get("PRIMETIME_E2E_SCREENSHOTS") == "all"
CALL_PASSED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[CALL_PASSED] = report.passed
    return report


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True, scope="session")
def patient_expectations():
    # Two cores run the server, several browsers and their video codecs at once: first
    # frames can take longer than Playwright's default five seconds.
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)


@pytest.fixture(autouse=True)
def allow_orm_beside_playwright(monkeypatch):
    # Playwright's sync API keeps an event loop in the test's thread, which Django's
    # async-safety check mistakes for async code; the test itself is plain sync code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="module")
def playwright():
    # Module-scoped: Playwright's sync API keeps an event loop in this thread while it
    # runs, which would stop the async tests that run after the browser tests.
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright):
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def server(transactional_db):
    """A daphne process serving pages and WebSockets against this test's database."""
    with running_server("daphne") as base:
        yield base


@pytest.fixture(scope="module")
def janus():
    """Janus with our configuration on free loopback ports, for a test module;
    (the environment a server needs to use it, the Janus process)."""
    with running_janus() as (env, process):
        yield env, process


@pytest.fixture
def sfu_server(transactional_db, janus):
    """A daphne process on the Janus backend."""
    env, _ = janus
    with running_server("daphne", **env) as base:
        yield base


@pytest.fixture(params=["mesh", "janus"])
def backend(request):
    """Each media backend in turn, for the tests whose story must hold on both."""
    return request.param


@pytest.fixture
def start_media_server(transactional_db, backend, request):
    """Start a daphne process on this test's media backend, with settings of its own."""
    stack = contextlib.ExitStack()
    backend_env = request.getfixturevalue("janus")[0] if backend == "janus" else {}

    def start(**env):
        return stack.enter_context(running_server("daphne", **(backend_env | env)))

    with stack:
        yield start


@pytest.fixture
def media_server(start_media_server):
    return start_media_server()


@pytest.fixture
def shop_and_server(transactional_db):
    """(A shop's website on another origin with the widget's snippet for the broadcast
    "launch", a server that lets that website show it)."""
    port = free_port()
    origin = f"http://localhost:{port}"
    with running_server("daphne", PRIMETIME_EMBED_ORIGINS=origin) as server:
        snippet = (
            f'<script src="{server}/static/js/embed.js" data-broadcast="launch" async></script>'
        )
        with shop_site(snippet, port=port) as shop:
            yield shop, server


@pytest.fixture
def export_worker(transactional_db):
    """With Redis (the services profile), a Celery worker that runs lead exports beside
    the test's server, as in production. Embedded, the server runs them itself."""
    with running_worker() if settings.REDIS_URL else contextlib.nullcontext():
        yield


@pytest.fixture
def new_page(browser, request):
    """Pages in separate browser contexts (separate people); a screenshot of each at the
    end of a test that failed."""
    contexts = []

    def open_page(*, viewport=None, device=None, init_script=None):
        options = (
            dict(device) if device else {"viewport": viewport or {"width": 1280, "height": 800}}
        )
        context = browser.new_context(**options)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    ARTIFACTS.mkdir(exist_ok=True)
    keep = SCREENSHOT_EVERY_TEST or not request.node.stash.get(CALL_PASSED, False)
    for number, context in enumerate(contexts):
        for page in context.pages if keep else ():
            page.screenshot(path=ARTIFACTS / f"{request.node.name}-{number}.png", full_page=True)
        context.close()
