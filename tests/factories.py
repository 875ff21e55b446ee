from functools import cache

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from broadcasts.models import Broadcast
from participation.models import Attendee, new_guest_key

TEST_PASSWORD = "correct-horse-battery"


@cache
def hashed_password(raw: str) -> str:
    """The password hash, made once per run: hashing costs about a second here (PBKDF2 at
    Django's iteration count), and hundreds of tests make users. Every user gets a real
    hash, so signing in through the pages checks it as in production."""
    return make_password(raw)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.LazyFunction(lambda: hashed_password(TEST_PASSWORD))


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"group{n}")


class BroadcastFactory(factory.django.DjangoModelFactory):
    """A draft; move it through its lifecycle with the services, as the product does."""

    class Meta:
        model = Broadcast

    title = factory.Sequence(lambda n: f"Launch event {n}")
    slug = factory.Sequence(lambda n: f"launch-{n}")
    description = "What is new this season."
    host = factory.SubFactory(UserFactory)
    cta_headline = "Twenty percent off for viewers"
    cta_label = "Get the offer"
    cta_url = "https://example.com/offer"


class GuestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attendee

    broadcast = factory.SubFactory(BroadcastFactory)
    guest_key = factory.LazyFunction(new_guest_key)
    display_name = factory.Faker("first_name")


def in_group(user, name: str, *permissions: str):
    """Put `user` in the group `name` (made if a flushed test database lost it), with the
    group's permissions as its migration grants them ("app_label.codename")."""
    from django.contrib.auth.models import Group, Permission

    group, _ = Group.objects.get_or_create(name=name)
    for permission in permissions:
        app_label, codename = permission.split(".")
        group.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    user.groups.add(group)
    return user


def ops_user(**fields):
    """Someone in Ops: may export and download leads."""
    return in_group(
        UserFactory(is_staff=True, **fields),
        "Ops",
        "leads.export_leads",
        "leads.view_lead",
        "leads.view_leadexport",
    )


def moderator(**fields):
    """Staff in Moderators, with the permissions its migration grants the group that the
    admin and the live dashboard need (a flushed test database lost them)."""
    return in_group(
        UserFactory(is_staff=True, **fields),
        "Moderators",
        "broadcasts.view_broadcast",
        "broadcasts.change_broadcast",
        "broadcasts.moderate_broadcast",
    )
