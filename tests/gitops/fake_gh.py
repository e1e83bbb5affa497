"""A stand-in for the GitHub CLI's `gh api`, enough for the PR-comment step.

Comments live in the JSON file $FAKE_GH_STATE ({"comments": [...], "next_id": N, "calls": [...]}),
each with the `user` GitHub records ({"login", "type"}). A comment is written as the token's
identity: $FAKE_GH_IDENTITY ("login:type"), by default a workflow's GITHUB_TOKEN, which GitHub
shows as github-actions[bot] of type Bot. `--jq` is applied with the real `jq -r`, as `gh`
prints raw strings (with the step's environment, for `env.NAME`).
"""
import json
import os
import subprocess
import sys


def main(argv):
    if not os.environ.get("GH_TOKEN"):
        print("gh: To use GitHub CLI in a GitHub Actions workflow, set the GH_TOKEN environment variable.",
              file=sys.stderr)
        return 4
    if not argv or argv[0] != "api":
        print(f"fake gh: unsupported: {argv}", file=sys.stderr)
        return 1
    args, method, path, jq, fields, paginate = argv[1:], "GET", None, None, {}, False
    while args:
        arg = args.pop(0)
        if arg in ("--method", "-X"):
            method = args.pop(0)
        elif arg == "--jq":
            jq = args.pop(0)
        elif arg == "--paginate":
            paginate = True
        elif arg in ("-f", "--raw-field"):
            key, _, value = args.pop(0).partition("=")
            fields[key] = value
        elif arg.startswith("-"):
            print(f"fake gh: unsupported option {arg}", file=sys.stderr)
            return 1
        else:
            path = arg
    state_path = os.environ["FAKE_GH_STATE"]
    state = json.load(open(state_path)) if os.path.exists(state_path) else {"comments": [], "next_id": 100,
                                                                              "calls": []}
    state["calls"].append({"method": method, "path": path, "paginate": paginate})
    parts = path.split("/")
    repo = os.environ.get("GH_REPO", "")
    if "/".join(parts[1:3]) != repo:
        print(f"fake gh: {path} is not in GH_REPO {repo}", file=sys.stderr)
        return 1
    if method == "GET" and parts[3:4] == ["issues"] and parts[5:] == ["comments"]:
        result = [c for c in state["comments"] if c["issue"] == int(parts[4])]
    elif method == "POST" and parts[3:4] == ["issues"] and parts[5:] == ["comments"]:
        login, _, kind = os.environ.get("FAKE_GH_IDENTITY", "github-actions[bot]:Bot").partition(":")
        result = {"id": state["next_id"], "issue": int(parts[4]), "body": fields["body"],
                  "user": {"login": login, "type": kind}}
        state["next_id"] += 1
        state["comments"].append(result)
    elif method == "PATCH" and parts[3:5] == ["issues", "comments"]:
        result = next(c for c in state["comments"] if c["id"] == int(parts[5]))
        result["body"] = fields["body"]
    else:
        print(f"fake gh: unsupported call {method} {path}", file=sys.stderr)
        return 1
    json.dump(state, open(state_path, "w"))
    text = json.dumps(result)
    if jq:
        text = subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True, check=True).stdout
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return 0


sys.exit(main(sys.argv[1:]))
