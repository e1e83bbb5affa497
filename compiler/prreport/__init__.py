"""The pull-request plan report: what a PR changes, model by model, rendered with Jinja2.

    report = build_report("models.yaml", "HEAD^1", Settings.for_run(),
                          read_plans(os.environ["RUNNER_TEMP"] + "/triton-gitops-plans"))
    markdown = render_markdown(report)

`report_data` compares the manifest at a base ref (read through `compiler.gitinfo`) with the work
tree; `plans` reads per-target `plan --output json` results; `render` applies
`templates/report/`; `github` writes the job summary and step outputs.
"""
from compiler.prreport.plans import read_plans
from compiler.prreport.render import MARKER, render_markdown
from compiler.prreport.report_data import build_report

__all__ = ["MARKER", "build_report", "read_plans", "render_markdown"]
