"""Every command's options: the one argparse parser of `triton-gitops`.

Kept apart from compiler/cli.py (which runs the commands) because `completion` reads the
parser too, and a command must not import the module that dispatches to it.
"""
from __future__ import annotations

import argparse

from compiler import __version__
from compiler.usage import REPORT_EXIT_CODES, Parser, epilog, output_help

_LOCKED_HELP = "refuse to go on when a source no longer matches models.lock"
_EPILOG = ("exit codes: 0 ok, 1 error (bad arguments included), 2 changes pending or drift (plan, "
           "sync --dry-run, compile --dry-run --exit-code, lock --check, status); each command's --help lists its own")


def _manifest_arg(parser) -> None:
    parser.add_argument("manifest", nargs="?", default="models.yaml",
                        help="the manifest (default: ./models.yaml)")


def _output_arg(parser) -> None:
    parser.add_argument("--output", choices=("text", "json"), default="text", help=output_help(parser.prog.split()[-1]))


_ROLLOUT_EXITS = """exit codes:
  0  rolled out: every replica passed every gate (or nothing needed a change)
  1  nothing changed: the manifest, a server or an option is wrong (the message says which)
  3  rolled back: a gate failed; every replica changed was put back to what it served before
  4  failed to roll back: a gate failed and some replica could not be put back (see its reason)"""


def _servers_args(p) -> None:
    p.add_argument("--triton-url", action="append", metavar="URL",
                   help="a server: http://HOST:8000 or grpc://HOST:8001 (https://, grpcs:// for TLS); repeat it "
                        "for each replica; dns+grpc://NAME:8001 or dns+http://NAME:8000 is every address NAME "
                        "resolves to (a Kubernetes headless Service)")
    p.add_argument("--servers-file", metavar="FILE", help="a file of server URLs, one a line (# comments)")
    p.add_argument("--nameserver", metavar="IP[:PORT]", help="for dns+ URLs: ask this DNS server (default: the "
                                                             "system's resolv.conf)")


def _storage_timeout_arg(parser) -> None:
    parser.add_argument("--storage-timeout", type=float, metavar="SECONDS",
                        help="how long a store may take to answer a listing or small read, retries included, "
                             "before the run fails (default: TRITON_GITOPS_STORAGE_TIMEOUT or 60)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="triton-gitops",
        description="Validate, compile and sync NVIDIA Triton model repositories from one models.yaml.",
        epilog=_EPILOG)
    parser.add_argument("--version", action="version", version=f"triton-gitops {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name, help_text, example):
        return commands.add_parser(name, help=help_text, description=help_text,
                                   epilog=f"example:\n  {example}\n\n{epilog(name)}",
                                   formatter_class=argparse.RawDescriptionHelpFormatter)

    p = command("validate", "check the manifest: schema, then Triton's own rules; every problem in one run",
                "triton-gitops validate models.yaml --output json")
    _manifest_arg(p)
    p.add_argument("--locked", action="store_true", help=_LOCKED_HELP)
    _storage_timeout_arg(p)
    _output_arg(p)

    p = command("compile", "write the Triton model repository (or, with --dry-run, show what would change)",
                "triton-gitops compile models.yaml --dry-run --exit-code")
    _manifest_arg(p)
    p.add_argument("--out", metavar="DIR",
                   help="the repository folder, replaced whole (default: the manifest's local target, the "
                        "folder `sync` writes: build/model_repository in the example)")
    p.add_argument("--dry-run", action="store_true", help="write nothing; list files to create/update/delete")
    p.add_argument("--exit-code", action="store_true", help="with --dry-run: exit 2 when the folder would change")
    p.add_argument("--locked", action="store_true", help=_LOCKED_HELP)
    _storage_timeout_arg(p)
    _output_arg(p)

    for name, help_text, example in (
            ("plan", "show what a sync would change on a target, per file and per model; changes nothing",
             "triton-gitops plan models.yaml --target prod --output json"),
            ("sync", "make a target (folder, s3://, gs://, az://) hold exactly the manifest's repository",
             "triton-gitops sync models.yaml --target s3://bucket/models --prune")):
        p = command(name, help_text, example)
        _manifest_arg(p)
        p.add_argument("--target", metavar="NAME|URL",
                       help="a target named in the manifest, or a URL: s3://, gs://, az://, abfs://, file:// "
                            "or a path (default: the manifest's local target)")
        p.add_argument("--prune", action="store_true",
                       help="delete files the manifest no longer has: only files triton-gitops wrote whose "
                            "content is still what it wrote (files changed by hand are reported as drift, kept)")
        p.add_argument("--locked", action="store_true", help=_LOCKED_HELP)
        p.add_argument("--from-target", metavar="NAME|URL",
                       help="promotion: files another target of the same store holds as the manifest wants them "
                            "(its sync state says so) are copied from there by the store, not uploaded")
        _storage_timeout_arg(p)
        if name == "sync":
            p.add_argument("--dry-run", action="store_true", help="show the plan; change nothing")
            p.add_argument("--jobs", type=int, default=8, metavar="N", help="parallel transfers (default: 8)")
            p.add_argument("--force-unlock", action="store_true",
                           help="remove another sync's lock on the target first (when that sync is gone)")
            p.add_argument("--overwrite-unmanaged", action="store_true",
                           help="replace files already on the target that triton-gitops did not write (without "
                                "it such a file stops the sync before anything is written, exit 1)")
            p.add_argument("--lock-wait", type=float, default=10.0, metavar="SECONDS",
                           help="how long to wait for another sync's lock (default: 10)")
            p.add_argument("--revision", metavar="REF",
                           help="sync the repository as the manifest described it at git revision REF (its "
                                "folder and sources as committed there): a rollback for POLL-mode servers")
        _output_arg(p)

    p = command("lint", "apply Triton's rules to existing config.pbtxt files or model repositories",
                "triton-gitops lint path/to/model_repository other/config.pbtxt")
    p.add_argument("paths", nargs="+", help="config files, model folders or repositories")
    p.add_argument("--triton", metavar="RELEASE",
                   help="the Triton that serves them (\"24.10\" or \"2.51\"): fields it does not know are errors")
    p.add_argument("--backend", action="append", default=[], metavar="NAME", dest="backends",
                   help="a custom backend the server has installed (repeatable); other non-standard names are errors")
    p.add_argument("--repository-agent", action="append", default=[], metavar="NAME", dest="repository_agents",
                   help="a custom repository agent the server has installed (repeatable)")
    p.add_argument("--batch-strategy", action="append", default=[], metavar="PATH", dest="batch_strategies",
                   help="a batch strategy library (TRITON_BATCH_STRATEGY_PATH) the server has (repeatable)")
    p.add_argument("--manifest", metavar="FILE",
                   help="take the installed backends, agents and batch strategies from this manifest's `server:`")
    _output_arg(p)

    command("schema", "print the manifest's JSON Schema", "triton-gitops schema > models.schema.json")
    p = command("explain", "what a manifest field means: Triton's description, type, default and an example",
                "triton-gitops explain dynamic_batching.max_queue_delay_microseconds")
    p.add_argument("field", nargs="?", metavar="FIELD",
                   help="a dotted path: a model field (instance_group.kind) or a manifest key (targets.*.url)")
    p.add_argument("--list", action="store_true", help="print every field path, one a line")
    _output_arg(p)

    # Model artifacts (compiler/commands/{lock,cache}.py)
    p = command("lock", "write models.lock next to the manifest: the sha256 of every version source",
                "triton-gitops lock models.yaml && git add models.lock")
    _manifest_arg(p)
    p.add_argument("--check", action="store_true", help="write nothing; exit 2 when models.lock would change")
    _storage_timeout_arg(p)
    _output_arg(p)
    p = command("cache", "the download cache of model artifacts (TRITON_GITOPS_CACHE_DIR, default ~/.cache)",
                "triton-gitops cache prune --older-than 7")
    actions = p.add_subparsers(dest="cache_action", metavar="ACTION", required=True)
    q = actions.add_parser("prune", help="remove cached artifacts not used for a while",
                           description="remove cached artifacts (and digests) not used for --older-than days")
    q.add_argument("--older-than", type=float, default=30.0, metavar="DAYS", help="default: 30")
    q.add_argument("--all", action="store_true", help="empty the cache")

    # GitOps commands (compiler/commands/{init,report,targets}.py)
    p = command("init", "scaffold a GitOps repository: manifest, example model, workflows, compose file; asks nothing",
                "triton-gitops init my-models && cd my-models && triton-gitops validate")
    p.add_argument("dir", nargs="?", default=".", help="the folder to create or fill (default: .)")
    p.add_argument("--name", help="the project's name (default: the folder's name)")
    p.add_argument("--install", metavar="PIP_ARGS",
                   help="what the workflows pip-install to get triton-gitops (default: this very triton-gitops: "
                        "its git repository at its commit, or triton-gitops==VERSION when it came from an index; "
                        "required when neither can be told)")
    p.add_argument("--python-version", metavar="X.Y", help="Python for the workflows (default: 3.11)")
    p.add_argument("--no-example", action="store_true", help="an empty `models:` instead of the example model")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")

    p = command("report", "compare the manifest with a base git ref, model by model, as a Markdown PR report",
                "triton-gitops report models.yaml --base origin/main --plans \"$RUNNER_TEMP/plans\" > report.md")
    p.epilog = p.epilog.replace(epilog("report"), REPORT_EXIT_CODES)
    _manifest_arg(p)
    p.add_argument("--base", default=None, metavar="REF",
                   help="the git ref to compare with; fetched at depth 1 if a shallow clone lacks it (default: main; "
                        "name your default branch here when it is not main)")
    p.add_argument("--plans", metavar="DIR",
                   help="per-target plan results: DIR/<target>.json, .err, .code, written by this run (a folder "
                        "holding files committed to git is refused)")
    p.add_argument("--out", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--summary", action="store_true", help="also append it to $GITHUB_STEP_SUMMARY")
    p.add_argument("--github-output", metavar="NAME",
                   help="also set it as step output NAME (cut to fit a PR comment) and `pending`")
    p.add_argument("--exit-code", action="store_true", help="exit 2 when any model or target changes")
    p.add_argument("--output", choices=("markdown", "json"), default="markdown",
                   help="markdown for people and PRs, json for machines")

    p = command("targets", "list the manifest's sync targets with their kind (s3, gcs, azure, local)",
                "triton-gitops targets models.yaml --remote --output json")
    _manifest_arg(p)
    p.add_argument("--remote", action="store_true", help="leave out local folders")
    p.add_argument("--github-output", action="store_true",
                   help="also set step outputs matrix, names, kinds, count (GitHub Actions)")
    _output_arg(p)

    p = command("completion", "print a shell completion script (commands, options, choices, target names)",
                'eval "$(triton-gitops completion bash)"    # in ~/.bashrc; zsh: completion zsh in ~/.zshrc')
    p.add_argument("shell", choices=("bash", "zsh"), help="the shell")

    p = command("import", "write a manifest for an existing model repository (a folder or an fsspec URL)",
                "triton-gitops import s3://bucket/models -o models.yaml --copy-to models/")
    p.add_argument("source", help="the repository: a folder, or s3://, gs://, az://, ... URL")
    p.add_argument("-o", "--out", default="models.yaml", help="the manifest to write, - for stdout (default: models.yaml)")
    p.add_argument("--copy-to", metavar="DIR", help="copy model files here and point the manifest at the copies")
    p.add_argument("--force", action="store_true", help="replace the manifest if it exists")
    p.add_argument("--backend", action="append", default=[], metavar="NAME", dest="backends",
                   help="a custom backend the servers have installed: declared in `server:` (repeatable)")
    p.add_argument("--repository-agent", action="append", default=[], metavar="NAME", dest="repository_agents",
                   help="a custom repository agent the servers have installed: declared in `server:` (repeatable)")

    p = command("import-analyzer", "take Model Analyzer's best config for a model into the manifest, with its "
                "measured figures", "triton-gitops import-analyzer analysis/ --model bert --max-p99-ms 20 --write")
    p.add_argument("path", metavar="PATH",
                   help="Model Analyzer's export folder, its results/metrics-model-inference.csv, or a checkpoint "
                        "(checkpoints/<n>.ckpt)")
    p.add_argument("--model", required=True, metavar="NAME", help="the model, as Model Analyzer and models.yaml name it")
    p.add_argument("--manifest", default="models.yaml", metavar="FILE", help="the manifest (default: ./models.yaml)")
    p.add_argument("--objective", choices=("throughput", "latency", "gpu-memory"), default="throughput",
                   help="what the best config has: highest throughput (default), lowest p99 latency, least GPU memory")
    p.add_argument("--config", metavar="N", help="take this config instead: N of <model>_config_N, `default`, or a name")
    p.add_argument("--max-p99-ms", type=float, metavar="MS", help="only measurements with p99 latency at most MS")
    p.add_argument("--min-throughput", type=float, metavar="N", help="only measurements with at least N infer/sec")
    p.add_argument("--max-gpu-memory-mb", type=float, metavar="MB", help="only measurements using at most MB of GPU memory")
    p.add_argument("--configs", metavar="DIR",
                   help="with a CSV: the output model repository holding <model>_config_<n>/config.pbtxt "
                        "(default: output_model_repository beside results/)")
    p.add_argument("--write", action="store_true", help="apply the change to the manifest (default: only show it)")
    _output_arg(p)

    # Live Triton commands (compiler/commands/{rollout,status}.py, compiler/rollout/)
    p = command("rollout", "load what changed into every Triton replica (EXPLICIT mode) in waves, canary first; "
                "check each wave, roll back on a failed check",
                "triton-gitops rollout models.yaml --target prod --triton-url dns+grpc://triton.ml.svc:8001 "
                "--canary 1 --max-unavailable 2 --smoke --soak 60")
    p.epilog = p.epilog.replace("\n\n", "\n\n" + _ROLLOUT_EXITS + "\n\n", 1)
    _manifest_arg(p)
    _servers_args(p)
    p.add_argument("--target", metavar="NAME|URL",
                   help="the target the servers read; checked to hold the manifest (as `plan` would) first; its "
                        "`servers:` are the replicas when no --triton-url or --servers-file is given")
    _storage_timeout_arg(p)
    p.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                   help="per model: how long a load may take until its versions are READY (default: 300)")
    p.add_argument("--reload", action="append", metavar="MODEL",
                   help="load MODEL even if the server already serves it as the manifest says ('*' for all)")
    p.add_argument("--canary", type=int, default=1, metavar="N",
                   help="replicas changed first, as a wave of their own (default: 1; 0: no canary wave)")
    p.add_argument("--max-unavailable", type=int, default=1, metavar="N",
                   help="replicas changed at the same time after the canary (default: 1)")
    _config_name_arg(p)
    p.add_argument("--smoke", action="store_true", help="gate: one inference per loaded model (warmup inputs or zeros)")
    p.add_argument("--perf", action="store_true", help="measure each loaded model: p50/p99 latency, inferences/s")
    p.add_argument("--max-p99-ms", type=float, metavar="MS", help="gate: p99 latency of each loaded model at most MS")
    p.add_argument("--min-throughput", type=float, metavar="N", help="gate: each loaded model serves at least N infer/s")
    p.add_argument("--concurrency", type=int, default=4, metavar="N", help="with --perf: requests in flight (default: 4)")
    p.add_argument("--duration", type=float, default=5.0, metavar="SECONDS",
                   help="with --perf: how long to measure each model (default: 5)")
    p.add_argument("--soak", type=float, default=0.0, metavar="SECONDS",
                   help="gate: wait SECONDS after each wave; Triton's nv_inference_request_failure of a changed "
                        "model must not rise meanwhile (read from --metrics-port)")
    p.add_argument("--metrics-port", type=int, default=8002, metavar="PORT",
                   help="Triton's metrics port on each replica's host, for --soak (default: 8002)")
    p.add_argument("--rollback-to", default="HEAD~1", metavar="REF",
                   help="git revision whose manifest holds the files a rollback sends back (default: HEAD~1, "
                        "main before the merge being rolled out); see docs/fleet.md")
    _output_arg(p)

    p = command("status", "compare what live Tritons serve with the manifest; exit 2 when they differ",
                "triton-gitops status models.yaml --triton-url http://triton:8000 --output json")
    _manifest_arg(p)
    _servers_args(p)
    p.add_argument("--target", metavar="NAME", help="a manifest target whose `servers:` to check")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="per request (default: 30); with --wait, how long to wait in all (default: 300)")
    p.add_argument("--wait", action="store_true",
                   help="for POLL-mode servers after a sync: wait until every model and version is READY on every "
                        "server; fail with Triton's reason, or name a poller that stopped")
    p.add_argument("--metrics-port", type=int, default=8002, help=argparse.SUPPRESS)
    _config_name_arg(p)
    _output_arg(p)

    p = command("drift", "check every target's storage (as plan) and servers (as status) against the manifest; "
                "keep one GitHub issue open while any drifted (the scheduled workflow runs it on main)",
                "triton-gitops drift models.yaml --remote --locked    # --no-issue: only print the report")
    _manifest_arg(p)
    p.add_argument("--target", action="append", metavar="NAME",
                   help="check this target of the manifest (repeatable; default: every target)")
    p.add_argument("--remote", action="store_true", help="leave out local folders (a CI runner's are empty)")
    p.add_argument("--locked", action="store_true", help=_LOCKED_HELP)
    _storage_timeout_arg(p)
    p.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                   help="per request to a Triton server (default: 30)")
    p.add_argument("--nameserver", metavar="IP[:PORT]", help="for dns+ server URLs: ask this DNS server")
    p.add_argument("--no-issue", "--dry-run", action="store_true", dest="no_issue",
                   help="only print the report; talk to no GitHub API")
    p.add_argument("--issue-author", default="github-actions[bot]", metavar="LOGIN",
                   help="the account the workflow's token acts as: only an issue it opened is updated or closed "
                        "(default: github-actions[bot]; a GitHub App token: <app-slug>[bot])")
    p.add_argument("--summary", action="store_true", help="also append the report to $GITHUB_STEP_SUMMARY")
    _output_arg(p)
    return parser


def _config_name_arg(p) -> None:
    p.add_argument("--model-config-name", metavar="VARIANT", default="",
                   help="the server runs `tritonserver --model-config-name=VARIANT`: compare with each model's "
                        "configs.VARIANT (config.pbtxt for models without it); without it, rollout --target NAME "
                        "takes that target's config_name")
