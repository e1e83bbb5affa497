"""The pull-request plan report: what a PR changes, model by model, rendered with Jinja2.

    head = load_and_build("models.yaml", settings)          # each side loaded by the caller
    base = load_and_build(base_checkout / "models.yaml", settings)
    report = build_report("models.yaml", "HEAD^1", head, base, GitFacts(base_sha=...),
                          read_plans(os.environ["RUNNER_TEMP"] + "/triton-gitops-plans"))
    markdown = render_markdown(report)

`report_data` compares two loaded sides of the manifest (the command, compiler/commands/report.py,
loads the work tree's and a git checkout's at the base ref); `plans` reads per-target `plan --output json` results; `render` applies
`templates/report/`; `github` writes the job summary and step outputs.
"""
from compiler.prreport.plans import read_plans
from compiler.prreport.render import MARKER, render_markdown
from compiler.prreport.report_data import GitFacts, build_report

__all__ = ["MARKER", "GitFacts", "build_report", "read_plans", "render_markdown"]
