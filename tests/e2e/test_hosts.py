"""The hosts list, changed in the admin while a co-host's console is open: their rights
go at once, on the page as on the server."""

from playwright.sync_api import expect

from broadcasts import services
from tests.e2e.helpers import open_console, sign_in
from tests.factories import BroadcastFactory, UserFactory, moderator


def test_a_co_host_taken_off_in_the_admin_loses_the_console_at_once(server, new_page):
    host = UserFactory(username="hana", first_name="Hana", last_name="Host")
    cora = UserFactory(username="cora", first_name="Cora", last_name="Cohost")
    broadcast = BroadcastFactory(host=host, slug="hosts", title="Hosts")
    broadcast.co_hosts.add(cora)
    services.broadcast_start(broadcast=broadcast, by=host)
    moderator(username="mona", first_name="Mona")

    console = open_console(new_page, server, "hana", "hosts")
    second = open_console(new_page, server, "cora", "hosts")
    stage = console.get_by_role("region", name="Stage", exact=True)
    expect(stage).to_contain_text("Cora Cohost")

    admin = new_page()
    sign_in(admin, server, "mona", f"/admin/broadcasts/broadcast/{broadcast.pk}/change/")
    admin.locator(".field-co_hosts .select2-selection__choice__remove").click()
    admin.keyboard.press("Escape")  # the autocomplete opens its list on removal
    admin.get_by_role("button", name="Save", exact=True).click()
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")

    # Her console says why and shows nothing else; the host's stage is the host alone.
    notice = second.locator("[data-bind=connection]")
    expect(notice).to_have_text("You are no longer a host of this broadcast.")
    expect(second.get_by_role("button", name="Pause")).to_be_hidden()
    expect(stage).not_to_contain_text("Cora Cohost")
    # At her next visit the console is not hers.
    assert second.goto(f"{server}/b/hosts/host/").status == 403
