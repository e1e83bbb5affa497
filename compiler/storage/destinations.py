"""Where a URL with its storage options sends requests, and with which credentials.

Used twice: to refuse, before any request, a destination the policy does not allow (the
check runs when the manifest is built, so `validate` reports it at the manifest line, and
again when a store is opened), and to list a manifest's credential destinations for the PR
report, which shows any change to them as a security-relevant change.

What counts as a destination: the endpoint each SDK will talk to (an option such as
`endpoint_url`, `account_url`, `account_host`, a connection string's `BlobEndpoint` or
`EndpointSuffix`, the host in an `az://container@host/` URL, else the cloud's own), and any
other option whose name speaks of an endpoint, URL, host or proxy, at any depth.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from compiler.errors import Problem
from compiler.storage import env as env_mod
from compiler.storage.urls import FAMILIES, family, host_port, is_local_url, redact_url, scheme_of

_ROUTING_KEY = re.compile(r"endpoint|url|host|proxy|proxies", re.I)
_AZURE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
_DEFAULTS = {"s3": "https://s3.amazonaws.com", "gs": "https://storage.googleapis.com",
             "az": "https://<account>.blob.core.windows.net"}
_RUNNER = {"s3": "the runner's AWS credentials", "gs": "the runner's Google credentials",
           "az": "the runner's Azure credentials", "http": "no credentials"}
# gcsfs's `token` may name a mode; any other string is a credentials file, whose JSON can send
# what it reads (an external account's credential_source) to a URL of its own.
_GCS_TOKEN_MODES = ("anon", "google_default", "cloud", "browser", None)
HOW_TO_ALLOW = ("if {endpoint} is yours, allow it outside the pull request: TRITON_GITOPS_ALLOWED_ENDPOINTS="
                "{endpoint} in the workflow, or allowed_endpoints in the policy file (docs/security.md)")


@dataclass(frozen=True)
class Destination:
    endpoint: str  # where requests go, as written (never expanded when listed for people)
    credentials: str  # what goes with them
    where: tuple  # sub-path of the option that names it (("url",) or ("storage_options", ...)); () = default
    default: bool = False  # the cloud's own endpoint


def _routing_options(options, where=()):
    """(sub-path, value) of every option whose name says it routes requests somewhere."""
    if isinstance(options, dict):
        for key, value in options.items():
            path = where + (key,)
            if _ROUTING_KEY.search(str(key)) and isinstance(value, str) and value:
                yield path, value
            elif _ROUTING_KEY.search(str(key)) and isinstance(value, dict):
                for inner_key, inner in value.items():  # proxies: {https: URL}
                    if isinstance(inner, str) and inner:
                        yield path + (inner_key,), inner
            else:
                yield from _routing_options(value, path)
    elif isinstance(options, list):
        for index, value in enumerate(options):
            yield from _routing_options(value, where + (index,))


def _connection_parts(text: str) -> dict:
    parts = {}
    for item in str(text).split(";"):
        key, sep, value = item.partition("=")
        if sep:
            parts[key.strip().lower()] = value.strip()
    return parts


def _credentials(fam: str, options: dict) -> str:
    refs = sorted({f"${{{name}}}" for name, _ in env_mod.references(options)})
    base = _RUNNER.get(fam, "the runner's credentials")
    if fam == "s3" and (options.get("anon") is True):
        base = "no credentials (anon)"
    if fam == "gs" and options.get("token") == "anon":
        base = "no credentials (anon)"
    return base + (" and " + ", ".join(refs) if refs else "")


def destinations(url: str, options: dict, environ=None) -> list:
    """The destinations of a remote URL with its storage options ([] for a local one)."""
    environ = os.environ if environ is None else environ
    options = options if isinstance(options, dict) else {}
    fam = family(scheme_of(url))
    if not scheme_of(url) or scheme_of(url) in ("file", "local"):
        return []
    credentials = _credentials(fam, options)
    found = []
    routed = dict(_routing_options(options, ("storage_options",)))
    if fam == "http":
        scheme, host, port = host_port(url)
        found.append(Destination(f"{scheme}://{host}" + (f":{port}" if port else ""), credentials, ("url",)))
    elif fam == "az":
        found.extend(_azure(url, options, environ, credentials, routed))
    elif not any(path[-1] in ("endpoint_url", "endpoint") for path in routed):
        named = [environ.get(n) for n in (("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL") if fam == "s3" else
                                           ("STORAGE_EMULATOR_HOST",) if fam == "gs" else ())]
        named = [n for n in named if n]
        if named:
            found.append(Destination(named[0], credentials, (), default=False))
        else:
            found.append(Destination(_DEFAULTS.get(fam, f"{scheme_of(url)}://"), credentials, (), default=True))
    for path, value in routed.items():
        if fam == "az" and path[-1] == "connection_string":
            continue  # read above, part by part
        found.append(Destination(value, credentials, path))
    return found


def _azure(url, options, environ, credentials, routed) -> list:
    found = []
    netloc = url.split("://", 1)[1].split("/", 1)[0]
    if "@" in netloc:  # az://container@account.blob.core.windows.net/...
        found.append(Destination("https://" + netloc.rsplit("@", 1)[1], credentials, ("url",)))
    connection = options.get("connection_string")
    where: tuple[str, ...] = ("storage_options", "connection_string")
    if not connection:
        connection, where = environ.get("AZURE_STORAGE_CONNECTION_STRING", ""), ()
    parts = _connection_parts(connection) if isinstance(connection, str) else {}
    if parts.get("blobendpoint"):
        found.append(Destination(parts["blobendpoint"], credentials, where))
    elif parts.get("endpointsuffix"):
        account = parts.get("accountname", "<account>")
        found.append(Destination(f"https://{account}.blob.{parts['endpointsuffix']}", credentials, where))
    account = options.get("account_name")
    if account is not None:
        found.append(Destination(f"https://{account}.blob.core.windows.net", credentials,
                                 ("storage_options", "account_name"), default=True))
    if not found and not routed:
        found.append(Destination(_DEFAULTS["az"], credentials, (), default=True))
    return found


def source_scheme_problem(url: str, doc_path: tuple):
    """A Problem when a version source's URL is not one the tool reads (or None)."""
    scheme = scheme_of(url)
    if "::" in url or scheme not in FAMILIES:
        return Problem(f"source {redact_url(url)!r}: {scheme or url.split('://')[0]!r} URLs are not read "
                       "(only s3://, gs://, az://, abfs://, https:// and local paths)", "source-scheme", doc_path,
                       hint="a local file is written as a path relative to the manifest; fsspec's chained "
                            "(`a::b`) and other URLs can reach files and hosts review does not see")
    return None


def check(url: str, options: dict, doc_path: tuple, policy, rule_prefix: str, environ=None,
          unset_ok: bool = True) -> list:
    """Problems (located below `doc_path`) with the destinations of `url` and `options`.

    Runs on values as written: references to variables the policy does not allow are
    problems, allowed ones are expanded (`unset_ok`: an unset one is left to the run that
    uses it), and every resulting destination must be the cloud's own or allowed."""
    environ = os.environ if environ is None else environ
    options = options if isinstance(options, dict) else {}
    fam = family(scheme_of(url))
    problems: list = []
    if rule_prefix == "target":  # a source's URL is never expanded; a target's only as the policy allows
        if fam not in ("s3", "gs", "az"):
            return [Problem(f"target {redact_url(url)!r}: a target is a folder or an object store (s3://, gs://, "
                            "az://, abfs://)", "target-scheme", doc_path + ("url",),
                            hint="write a path, or a URL of one of those stores")]
        problems.extend(env_mod.refused(url, doc_path + ("url",), policy, "target-env"))
    if fam == "http":
        for name, where in env_mod.references(options):
            problems.append(Problem(
                f"${{{name}}} in the options of an {scheme_of(url)}:// source: a web server gets no value from the "
                "environment (it could be anyone's)", f"{rule_prefix}-http-credentials",
                doc_path + ("storage_options",) + where,
                hint="download it from a store the workflow trusts (s3://, gs://, az://), or give no credentials"))
        kwargs = options.get("client_kwargs")
        client: dict = kwargs if isinstance(kwargs, dict) else {}
        if client.get("trust_env"):
            problems.append(Problem("trust_env makes the HTTP client send ~/.netrc credentials and use the "
                                    "environment's proxy", f"{rule_prefix}-http-credentials",
                                    doc_path + ("storage_options", "client_kwargs", "trust_env"),
                                    hint="drop trust_env"))
        return problems
    problems.extend(env_mod.refused(options, doc_path + ("storage_options",), policy, f"{rule_prefix}-env"))
    scratch: list = []
    expanded_url = url if rule_prefix == "source" else env_mod.expand(url, (), scratch, policy, environ=environ)
    expanded_options = env_mod.expand(options, (), scratch, policy, environ=environ)
    if not unset_ok:
        problems.extend(p for p in scratch if "is not set" in p.message)
    for destination in destinations(expanded_url, expanded_options, environ):
        if destination.default or not destination.where or policy.allows_endpoint(destination.endpoint):
            continue  # the cloud's own, or one the environment names (trusted: set outside the PR)
        shown = _shown(destination.endpoint)
        problems.append(Problem(
            f"requests with {destination.credentials} would go to {shown}, which the storage policy "
            f"({policy.origin}) does not allow", f"{rule_prefix}-endpoint", doc_path + destination.where,
            hint=HOW_TO_ALLOW.format(endpoint=shown)))
    problems.extend(_account_and_token(fam, expanded_options, doc_path, rule_prefix))
    return problems


def _shown(endpoint: str) -> str:
    scheme, host, port = host_port(endpoint)
    return f"{scheme}://{host}" + (f":{port}" if port else "") if host else redact_url(endpoint)


def _account_and_token(fam: str, options: dict, doc_path: tuple, rule_prefix: str) -> list:
    problems = []
    account = options.get("account_name")
    if fam == "az" and account is not None and not _AZURE_ACCOUNT.match(str(account)):
        problems.append(Problem(f"account_name {str(account)[:40]!r} is not an Azure storage account name "
                                "(3-24 lowercase letters and digits)", f"{rule_prefix}-endpoint",
                                doc_path + ("storage_options", "account_name"),
                                hint="it becomes part of the host name requests go to"))
    token = options.get("token")
    if fam == "gs" and token not in _GCS_TOKEN_MODES:
        problems.append(Problem("token names a credentials file or holds credentials: such a file can send what it "
                                "reads to a URL of its own", f"{rule_prefix}-endpoint",
                                doc_path + ("storage_options", "token"),
                                hint="leave token out (the runner's own credentials) or use token: anon"))
    return problems


def listing(data) -> list:
    """[(what, endpoint, credentials)] of every remote source and target in a manifest document
    (the parsed YAML, so that refused entries are listed too), as written: for the PR report's
    security-relevant changes. Never expands a value."""
    rows = []
    data = data if isinstance(data, dict) else {}

    def add(what, url, options):
        if isinstance(url, str) and not is_local_url(url):
            for d in destinations(url, options if isinstance(options, dict) else {}, {}):
                rows.append((what, _shown_written(d.endpoint), d.credentials))
    for name, spec in (data.get("targets") or {}).items() if isinstance(data.get("targets"), dict) else ():
        if isinstance(spec, dict):
            add(f"target {name}", spec.get("url"), spec.get("storage_options"))
    models = data.get("models") if isinstance(data.get("models"), dict) else {}
    for name, model in models.items():
        versions = model.get("versions") if isinstance(model, dict) else None
        for number, spec in (versions.items() if isinstance(versions, dict) else ()):
            if isinstance(spec, dict):
                add(f"{name} version {number}", spec.get("source"), spec.get("storage_options"))
            elif isinstance(spec, str):
                add(f"{name} version {number}", spec, {})
    return sorted({(str(a), str(b), str(c)) for a, b, c in rows})


def _shown_written(endpoint: str) -> str:
    return endpoint if env_mod.ENV_REF.search(endpoint) else _shown(endpoint)
