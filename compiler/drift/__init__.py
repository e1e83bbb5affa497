"""Drift on a schedule: does every target of the manifest (its storage and its Triton servers)
still hold what `main` says, and one GitHub issue that says so while it does not.

    check.py    per target: `plan` (storage) and `status` (servers), read-only, failures kept per target
    report.py   the Markdown report, every outside value escaped (compiler/prreport/markdown.py)
    issue.py    the one issue: found by its marker AND its bot author, created, updated, closed
    github.py   the GitHub REST API, as a workflow's GITHUB_TOKEN reaches it

`triton-gitops drift` (compiler/commands/drift.py) chains them; the scheduled workflow
`triton-gitops-drift.yml` (templates/init/) runs it on main. docs/gitops.md, "Drift".
"""
