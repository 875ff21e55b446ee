"""Pages that report what the Content-Security-Policy refused, for the browser tests."""

from playwright.sync_api import Page, expect

# Before any script of the page (and in every frame): each refusal is written to the
# console, where the watch below collects it with Chromium's own CSP messages.
REPORT_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (event) => {
  console.error('CSP violation: ' + event.effectiveDirective + ' refused ' +
    (event.blockedURI || 'inline') + ' in ' + (event.sourceFile || document.URL) + ':' +
    event.lineNumber + ' ' + (event.sample || ''));
});
"""


class PolicyWatch:
    """Opens pages like `new_page`; every page it opened tells it of the policy's
    refusals (`violations`) and of uncaught script errors (`errors`)."""

    def __init__(self, new_page):
        self.new_page = new_page
        self.violations: list[str] = []
        self.errors: list[str] = []

    def __call__(self, *, init_script: str = "", **options) -> Page:
        page = self.new_page(init_script=REPORT_VIOLATIONS + init_script, **options)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page

    def _console(self, message) -> None:
        text = message.text
        if text.startswith("CSP violation") or "Content Security Policy" in text:
            self.violations.append(f"{message.location.get('url', '')}: {text}")

    def assert_clean(self) -> None:
        assert self.violations == [], "\n".join(self.violations)
        assert self.errors == [], "\n".join(self.errors)


def expect_connected(page: Page, root: str = "#broadcast") -> None:
    """The page's live socket is open and has its snapshot (live.js: data-connection)."""
    expect(page.locator(root)).to_have_attribute("data-connection", "connected")
