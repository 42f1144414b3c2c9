#!/usr/bin/python3 -I
"""An exec evaluation plugin for synod-voter, Python standard library only.

Protocol (voter/plugin_host.h): one JSON object on stdin,
    {"config": {...}, "policy": {...}, "request": {...}}
read to EOF; one JSON object on stdout,
    {"reason": {...}, "verdict": "APPROVE" | "REJECT"}
and exit status 0. Anything else (a traceback, a nonzero exit, no answer
before the deadline) is a failed evaluation: no vote, or the voter's
configured fallback.

This example applies a "synod.rules.v1" policy (policies/rules-baseline.json)
the way the built-in rules plugin does, so the two can be checked against
each other. A real harness would run model evaluations here instead.
"""
import json
import re
import sys

HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def fail(failed, rule, field, problem):
    failed.append({"field": field, "problem": problem, "rule": rule})


def check(policy, request):
    failed, checked = [], 0
    card = request.get("model_card")
    card = card if isinstance(card, dict) else {}
    for name in policy.get("model_card", {}).get("required", []):
        checked += 1
        value = card.get(name)
        if not isinstance(value, str):
            fail(failed, "model_card.required", name, "missing")
        elif value == "":
            fail(failed, "model_card.required", name, "empty")
    scores = {}
    for ev in request.get("evaluations", []) if isinstance(request.get("evaluations"), list) else []:
        if isinstance(ev, dict) and isinstance(ev.get("name"), str) and isinstance(ev.get("score_milli"), int):
            scores.setdefault(ev["name"], ev["score_milli"])
    for name, minimum in policy.get("evaluations", {}).get("minimum_score_milli", {}).items():
        checked += 1
        if name not in scores:
            fail(failed, "evaluations.minimum_score_milli", name, "missing")
        elif scores[name] < minimum:
            fail(failed, "evaluations.minimum_score_milli", name,
                 "score_milli %d below %d" % (scores[name], minimum))
    caps = request.get("capabilities")
    caps = caps if isinstance(caps, list) else []
    for name in policy.get("capabilities", {}).get("forbidden", []):
        checked += 1
        for _ in (c for c in caps if c == name):
            fail(failed, "capabilities.forbidden", name, "declared")
    if policy.get("artifacts", {}).get("sha256_well_formed"):
        checked += 1
        arts = request.get("artifacts")
        if not isinstance(arts, list) or not arts:
            fail(failed, "artifacts.sha256_well_formed", "artifacts", "missing")
        else:
            for i, art in enumerate(arts):
                digest = art.get("sha256") if isinstance(art, dict) else None
                if not isinstance(digest, str) or not HEX64.match(digest):
                    fail(failed, "artifacts.sha256_well_formed", "artifacts[%d].sha256" % i,
                         "not 64 lowercase hex characters")
    return failed, checked


def main():
    doc = json.load(sys.stdin)
    policy, request = doc["policy"], doc["request"]
    if policy.get("format") != "synod.rules.v1" or not isinstance(policy.get("name"), str):
        print("policy: format must be synod.rules.v1", file=sys.stderr)
        return 1
    failed, checked = check(policy, request)
    reason = {"failed": failed, "policy": policy["name"], "rules_checked": checked}
    verdict = "REJECT" if failed else "APPROVE"
    json.dump({"reason": reason, "verdict": verdict}, sys.stdout, separators=(",", ":"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
