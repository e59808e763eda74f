"""Configuration read from the environment, with a TestConfig for the suite."""
import os

DEFAULT_SECRET = "dev-only-not-secret"


class Config:
    """Settings for `flask run` and gunicorn; every value can come from the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET)
    # Relative SQLite paths are resolved inside the instance folder by Flask-SQLAlchemy.
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///council.db")
    # hide_parameters: no log line or error report ever shows a statement's values (a voter next to a ballot).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    LANGUAGES = ("zh_Hans", "zh_Hant", "en")
    BABEL_DEFAULT_LOCALE = "zh_Hans"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    # A whole request: up to 3 concern photos of at most 5 MB each, plus the form's text.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024))
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # No X-RateLimit-* headers: no browser reads them, and each would cost every POST one more read of the counters
    # (a Redis round trip where several processes share them). A refused POST gets the 429 page.
    RATELIMIT_HEADERS_ENABLED = False
    SIGNIN_LIMIT_PER_ADDRESS = "20 per 10 minutes"
    SIGNIN_LIMIT_PER_ACCOUNT = "5 per 10 minutes"
    SIGNUP_LIMIT = "10 per hour"
    # Behind HTTPS set PREFERRED_URL_SCHEME=https (cookies become Secure, HSTS is sent); behind a reverse proxy
    # set TRUSTED_PROXIES to the number of proxies in front (see council/security.py).
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # Every POST, per person (or per address before sign-in); casting ballots has its own, lower limit instead.
    POST_LIMIT = os.environ.get("POST_LIMIT", "60 per minute;600 per hour")
    VOTE_LIMIT = os.environ.get("VOTE_LIMIT", "20 per minute")
    # Public pages (published minutes) are rendered once per language and kept (council/pagecache.py): in each
    # process's memory, or in Redis when CACHE_REDIS_URL is set, shared by every process, so a publication
    # clears them everywhere at once. Several processes should share Redis (docs/deploy.md).
    CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL", "")
    CACHE_TYPE = "RedisCache" if CACHE_REDIS_URL else "SimpleCache"
    CACHE_DEFAULT_TIMEOUT = int(os.environ.get("CACHE_DEFAULT_TIMEOUT", 600))
    CACHE_KEY_PREFIX = "council:"
    CACHE_THRESHOLD = 2000  # SimpleCache: pages kept per process
    # Members' pages (an estate's proposals...) kept too, under the versions of their places' data
    # (council/versions.py): only where every process shares the store, so on by default with Redis.
    CACHE_SIGNED_IN_PAGES = os.environ.get("CACHE_SIGNED_IN_PAGES", "1" if CACHE_REDIS_URL else "0") == "1"
    # A kept page's live parts (a vote's turnout, which every ballot moves) are read again at most this often
    # by each process (council/pagecache.py); 0: on every request.
    LIVE_SECONDS = int(os.environ.get("LIVE_SECONDS", 5))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PER_PAGE = 20
    CLAIM_CODE_DAYS = 30


class TestConfig(Config):
    """The suite's settings: its own database, CSRF and rate limits off unless a test turns them on."""

    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    CACHE_TYPE = "NullCache"  # one app serves the whole suite: tests of the cache give it a SimpleCache
    CACHE_NO_NULL_WARNING = True
    CACHE_SIGNED_IN_PAGES = False  # the tests of kept members' pages turn it on, with a SimpleCache
    LIVE_SECONDS = 0  # a test reads a page right after the ballot it cast
    SERVER_NAME = "localhost"
