"""The ground floor every stage that touches storage stands on: sources (`artifacts/`) and
targets (`sync/`, `rollout/`) alike.

- `urls`: which URLs name a local file, how a URL is shown (never with its secrets);
- `env`: `${VAR}` expansion, only of the variables the policy allows;
- `policy`: what the workflow (not the pull request) allows: endpoints and variables;
- `destinations`: where a URL with its storage options sends requests and credentials, and
  the check of that against the policy, before any request;
- `stores`: opening an fsspec filesystem (bounded in time), which store one is (`speaks`), the
  store's stamp and md5;
- `redact`: scrubbing secrets from anything printed, debug logs included;
- `files`: atomic writes and streamed digests of local files;
- `lfs_pointer`: the Git LFS pointer format (what a big file is in git).

Nothing in here imports from the stages above it.
"""
