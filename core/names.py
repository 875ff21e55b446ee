"""How a person is named on every page, in exports and in the API."""


def display_name(user) -> str:
    """A user's full name, or their username when they gave none."""
    return user.get_full_name() or user.get_username()
