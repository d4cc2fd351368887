"""Rules that describe one fact about one place: which finding stands, what it adds.

The engine folds each pair into one finding (engine/fold.py); the rule pages say so
(formats/rule_pages.py). `APART` records pairs that look alike but are not folded, and why.
"""

from __future__ import annotations

import enum

from deploysafe.frozen import record


class Relation(enum.Enum):
    """What makes two findings one fact."""

    VALUE = "the same value"  # same file, object and JSON pointer
    ENTRY = "the same list entry"  # same file, object and pointer up to its last list index
    SECRET = "the same secret"  # same file and secret (Kubernetes object or text line)


@record
class Pair:
    """Two rules whose findings at one place are one fact: the one kept, the one folded in."""

    kept: str
    folded: str
    relation: Relation
    consequence: str  # what the folded rule adds, as the kept finding's message says it
    why: str  # the decision, for both rules' pages


PAIRS: tuple[Pair, ...] = (
    Pair(
        "DS205",
        "DS507",
        Relation.VALUE,
        "it is reachable outside any Service or NetworkPolicy",
        "both read one `hostPort`; DS507 reports it on its own where the namespace's Pod "
        "Security level does not include the `hostPorts` check",
    ),
    Pair(
        "DS202",
        "DS509",
        Relation.VALUE,
        "no NetworkPolicy can select a host-network pod, so nothing restricts its traffic",
        "a pod on `hostNetwork: true` is out of every NetworkPolicy's reach: that is a "
        "consequence of the host network, not a missing policy (DS509 still reports pods "
        "that a policy could select but none does)",
    ),
    Pair(
        "DS236",
        "DS204",
        Relation.ENTRY,
        "a hostPath volume",
        "the runtime socket is mounted through a hostPath volume: one volume, one finding",
    ),
    Pair(
        "DS236",
        "DS213",
        Relation.ENTRY,
        "a volume type the restricted level forbids",
        "the runtime socket is mounted through a hostPath volume: one volume, one finding",
    ),
    Pair(
        "DS310",
        "DS301",
        Relation.SECRET,
        "a known secret format",
        "a token or key in a Secret manifest is one committed secret; DS310 names the "
        "Secret and key (its message says which format) and DS301 reports it in any other "
        "file",
    ),
    Pair(
        "DS311",
        "DS302",
        Relation.SECRET,
        "a literal credential",
        "a credential in a ConfigMap is one committed secret; DS302 reports literal "
        "credentials in any other file",
    ),
    *(
        Pair(
            "DS230",
            folded,
            Relation.ENTRY,
            consequence,
            "one `rules[]` entry with `*` is one grant to narrow: the wildcard finding "
            "lists what the entry grants",
        )
        for folded, consequence in (
            ("DS232", "it can read every Secret"),
            ("DS233", "it can create pods and workloads"),
            ("DS234", "it can exec or attach into pods"),
            ("DS235", "it can escalate, bind or impersonate"),
            ("DS298", "a workload holds it and can rewrite networking"),
            ("DS299", "it reaches every kubelet through nodes/proxy"),
        )
    ),
)

# Pairs that look alike but are not folded, and why: two problems, or never one value.
APART: tuple[tuple[str, str, str], ...] = (
    (
        "DS311",
        "DS510",
        "a default password in a ConfigMap is two problems: moving it into a Secret leaves "
        "a password anyone can guess",
    ),
    (
        "DS302",
        "DS510",
        "never the same value: the detector judges each value once, as a well-known default "
        "(DS510) or as another literal credential (DS302)",
    ),
)
