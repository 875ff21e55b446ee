"""Branding set in the admin: marketing staff upload a logo and a cover and pick an accent;
the landing page, the watch page and the widget show them."""

from playwright.sync_api import expect

from broadcasts import services
from tests.broadcasts.test_branding import png
from tests.e2e.helpers import join_as_guest, sign_in
from tests.factories import BroadcastFactory, UserFactory, moderator
from tests.servers import ARTIFACTS

LOADED_WIDTH = "(image) => image.complete ? image.naturalWidth : 0"


def test_staff_brand_a_broadcast_in_the_admin_and_every_page_shows_it(server, new_page, tmp_path):
    host = UserFactory(username="bea", first_name="Bea", last_name="Host")
    broadcast = BroadcastFactory(host=host, slug="brand", title="Brand day")
    services.broadcast_start(broadcast=broadcast, by=host)
    moderator(username="mona", first_name="Mona")
    logo, cover = tmp_path / "acme-logo.png", tmp_path / "acme-cover.png"
    logo.write_bytes(png(120, 40))
    cover.write_bytes(png(640, 240))
    (tmp_path / "notes.txt").write_text("not a picture")

    admin = new_page()
    sign_in(admin, server, "mona", f"/admin/broadcasts/broadcast/{broadcast.pk}/change/")
    # A file that is not a picture is refused, with the reason by the field.
    admin.get_by_label("Logo:", exact=True).set_input_files(tmp_path / "notes.txt")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".field-brand_logo .errorlist")).to_contain_text("Upload a valid image")

    admin.get_by_label("Logo:", exact=True).set_input_files(logo)
    admin.get_by_label("Cover image:", exact=True).set_input_files(cover)
    admin.get_by_label("Accent colour:").fill("#0A7C66")
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")

    # The landing page: the cover, the logo, the accent on its button.
    landing = new_page()
    landing.goto(f"{server}/b/brand/")
    expect(landing.locator("img.cover")).to_be_visible()
    assert landing.locator("img.cover").evaluate(LOADED_WIDTH) == 640
    assert landing.locator("img.brand-logo").evaluate(LOADED_WIDTH) == 120
    join = landing.get_by_role("link", name="Join live")
    expect(join).to_have_css("background-color", "rgb(10, 124, 102)")
    landing.screenshot(path=ARTIFACTS / "branding-landing.png")

    # The watch page and the widget carry the logo too.
    viewer = join_as_guest(new_page, server, "brand", "Wendy")
    assert viewer.locator("img.brand-logo").evaluate(LOADED_WIDTH) == 120
    widget = new_page(viewport={"width": 360, "height": 640})
    widget.goto(f"{server}/b/brand/embed/")
    assert widget.locator("img.brand-logo").evaluate(LOADED_WIDTH) == 120
