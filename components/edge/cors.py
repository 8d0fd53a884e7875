"""CORS at the edge, pure: which web pages (origins) a browser lets read the API's answers.

- Exact origins only (a map of literal strings; `*` only where the settings allow it: dev,
  never with credentials). An origin not listed gets no CORS header at all, so the browser
  keeps the answer from the page; the request itself is not refused (CORS protects what a
  page may read, authentication what a caller may do).
- Preflights (OPTIONS with Access-Control-Request-Method) are answered by the edge, 204
  with the allowed methods, headers and max-age; they never reach the gateway. nginx answers
  them in its rewrite phase, before the rate limits: a preflight costs it one header write.
- `Vary: Origin` on every answer, so no cache hands one origin's answer to another; the
  gateway's own CORS headers are dropped (the edge's list is the only one).
Proven on Debian nginx and Debian's headless Chromium (tests/integration/test_edge_cors.py)."""

from __future__ import annotations

from stacks.edge_settings import CorsSettings

HIDDEN_FROM_UPSTREAM = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Credentials",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Max-Age",
    "Access-Control-Expose-Headers",
)
EXPOSED = "X-Request-ID"
"""What a page may read of an answer besides the CORS-safelisted headers."""


def enabled(cors: CorsSettings | None) -> bool:
    return bool(cors and cors.allowed_origins)


def http_maps(cors: CorsSettings | None) -> list[str]:
    """Maps at the http level: the allowed origin (or empty), whether this is a preflight,
    and the preflight-only values (empty otherwise: nginx sends no header with an empty
    value)."""
    if not cors or not enabled(cors):
        return []
    if "*" in cors.allowed_origins:
        if cors.allow_credentials:  # the settings refuse it (stacks/rules/edge.py)
            raise ValueError("CORS: '*' with credentials would let any page act as a user")
        origins = ['    "~." "*";']
    else:
        # The configured literal, never the request's: nginx compares map strings without
        # regard to case, and a browser compares Access-Control-Allow-Origin exactly.
        origins = [f'    "{origin}" "{origin}";' for origin in cors.allowed_origins]
    allowed = '"~^1:."'
    return [
        "  # CORS (components/edge/cors.py): exact origins only.",
        "  map $http_origin $vos_cors_origin {",
        '    default "";',
        *origins,
        "  }",
        "  map $request_method:$http_access_control_request_method $vos_preflight {",
        "    default 0;",
        '    "~^OPTIONS:." 1;',
        "  }",
        *(
            [
                "  map $vos_cors_origin $vos_cors_credentials {",
                '    default "";',
                '    "~." "true";',
                "  }",
            ]
            if cors.allow_credentials
            else []
        ),
        "  map $vos_preflight:$vos_cors_origin $vos_cors_methods {",
        '    default "";',
        f'    {allowed} "{", ".join(cors.allowed_methods)}";',
        "  }",
        "  map $vos_preflight:$vos_cors_origin $vos_cors_headers {",
        '    default "";',
        f'    {allowed} "{", ".join(cors.allowed_headers)}";',
        "  }",
        "  map $vos_preflight:$vos_cors_origin $vos_cors_max_age {",
        '    default "";',
        f'    {allowed} "{cors.max_age_seconds}";',
        "  }",
        "  map $vos_preflight:$vos_cors_origin $vos_cors_expose {",
        '    default "";',
        f'    "~^0:." "{EXPOSED}";',
        "  }",
    ]


def headers(cors: CorsSettings | None) -> tuple[tuple[str, str], ...]:
    """Added to every answer (empty values are not sent)."""
    if not cors or not enabled(cors):
        return ()
    credentials = (("Access-Control-Allow-Credentials", "$vos_cors_credentials"),)
    return (
        ("Vary", "Origin"),
        ("Access-Control-Allow-Origin", "$vos_cors_origin"),
        *(credentials if cors.allow_credentials else ()),
        ("Access-Control-Allow-Methods", "$vos_cors_methods"),
        ("Access-Control-Allow-Headers", "$vos_cors_headers"),
        ("Access-Control-Max-Age", "$vos_cors_max_age"),
        ("Access-Control-Expose-Headers", "$vos_cors_expose"),
    )


def preflight(cors: CorsSettings | None, indent: str) -> list[str]:
    """In each proxying location, before the gateway."""
    if not enabled(cors):
        return []
    return [f"{indent}if ($vos_preflight) {{", f"{indent}  return 204;", f"{indent}}}"]
