from django.http import HttpRequest, HttpResponse
from django.utils.html import escape
from django.views.decorators.cache import cache_control

AVATAR_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img">'
    '<circle cx="32" cy="32" r="32" fill="hsl({hue},55%,42%)"/>'
    '<text x="32" y="41" text-anchor="middle" font-family="system-ui,sans-serif" '
    'font-size="26" font-weight="600" fill="#fff">{letters}</text></svg>'
)


@cache_control(public=True, max_age=60 * 60 * 24 * 30, immutable=True)
def avatar(request: HttpRequest, letters: str, hue: int) -> HttpResponse:
    """Initials on a coloured disc: everyone has a picture, even without a photo."""
    svg = AVATAR_SVG.format(hue=hue % 360, letters=escape(letters[:2]))
    return HttpResponse(svg, content_type="image/svg+xml")
