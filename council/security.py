"""Headers every response carries, cookies that stay on HTTPS, and the app behind a reverse proxy.

The pages use no script at all and only the app's own stylesheet, so the Content-Security-Policy allows
nothing inline and nothing from elsewhere (the app works offline, nothing comes from a CDN); QR codes are
inline SVG, images are the app's own.
"""
from __future__ import annotations

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    """Served over HTTPS (PREFERRED_URL_SCHEME=https): cookies are Secure and browsers are told to stay on
    HTTPS. Behind a reverse proxy (TRUSTED_PROXIES=1, the number of proxies in front), the client's address
    and scheme come from its X-Forwarded-* headers, so rate limits count people, not the proxy."""
    https = app.config.get("PREFERRED_URL_SCHEME") == "https"
    if https:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    sent = [(name.lower(), name, value) for name, value in
            (*HEADERS.items(), *((("Strict-Transport-Security", HSTS),) if https else ()))]

    @app.after_request
    def secure_headers(response: Response) -> Response:
        """Each header unless the view set its own (one pass over the response's few headers)."""
        present = {name.lower() for name in response.headers.keys()}
        response.headers.extend([(name, value) for lower, name, value in sent if lower not in present])
        return response
