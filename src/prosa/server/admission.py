"""Who may ask what: a tenant's rate limit and cache scope, the models its key allows, and the models
this gateway can answer at all. Every route that reads the cache goes through ``Admission.admit``."""

from __future__ import annotations

from ..cache.controls import check_name, join_scope
from ..client import AsyncClient
from ..request import is_local_model
from .errors import HTTPError
from .security import RequestHeaders
from .tenants import Tenant, Tenants
from .upstream import Upstream


class Admission:
    def __init__(self, tenants: Tenants, upstream: Upstream) -> None:
        self.tenants = tenants
        self.upstream = upstream

    def admit(self, headers: RequestHeaders, tenant: Tenant) -> tuple[str, AsyncClient, str]:
        """The caller's client tag, client and cache scope, after its rate limit (429 past it).

        Every route that reads the cache goes through here, so a tenant's scope is the same on all."""
        wait = tenant.wait() if tenant.rpm else 0
        if wait:
            raise HTTPError(429, f"key {tenant.name!r} is over its limit of {tenant.rpm} requests per minute; "
                            f"retry after {wait} s", "rate_limit_error", None, "rate_limit_exceeded",
                            {b"retry-after": b"%d" % wait})  # fmt: skip
        scope = tenant.scope
        upstream = self.upstream
        bearer = headers.bearer() if upstream.forward_key else None  # only a forwarded key matters here
        bearer_text = None if bearer is None else bearer.decode("latin-1")
        tenants = self.tenants
        if bearer_text and tenants.required and not tenants.shared:
            scope = tenants.caller(bearer_text).scope  # the caller's upstream key is the tenant
        if headers.namespace is not None:
            scope = join_scope(scope, check_name(headers.namespace.decode("latin-1"), "x-prosa-namespace"))
        tag, client = upstream.client_for(bearer_text)
        return tag, client, scope

    def allow_model(self, tenant: Tenant, model: str) -> None:
        """A 403 for a model the tenant's key may not use."""
        if tenant.models is not None and not tenant.allows(model):
            raise HTTPError(403, f"key {tenant.name!r} may not use the model {model!r}; ask the gateway's "
                            "operator to add it to the key's models", "permission_error", "model",
                            "model_not_allowed")  # fmt: skip

    def require_served(self, model: str) -> None:
        """A 404 for a model this gateway cannot answer: any but 'local' when there is no upstream."""
        if not self.upstream.present and not is_local_model(model):
            raise HTTPError(
                404,
                f"model {model!r} is not served here: this gateway has no upstream, only 'local'; "
                "start it with --upstream URL or an OpenAI key",
                param="model",
                code="model_not_found",
            )
