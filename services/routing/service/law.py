"""Rule of law (依法): the legal basis a coordinator's decision cites, from the lists or typed in.

Rulings, reassignments and refusals of an extension carry one; it is written into history that
the database keeps append-only (rulings, task transitions)."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.lists import Lists
from services.routing.service.errors import MissingLegalBasis


@dataclass(frozen=True, slots=True)
class Citation:
    """What the request cited: the law typed in, the matter's basis in the lists, a reason."""

    typed: str | None = None
    from_lists: bool = False
    reason: str | None = None

    @property
    def given(self) -> bool:
        return bool(self.typed and self.typed.strip()) or self.from_lists


def legal_basis(lists: Lists, matter_code: str, citation: Citation, *, what: str) -> str:
    """The basis recorded for a decision on a demand of `matter_code`; MissingLegalBasis when
    the request cited none (or cited the lists for a matter they give no basis)."""
    if not citation.given:
        raise MissingLegalBasis(
            f"{what} needs its legal basis: type the law and article, or cite the lists"
        )
    parts = []
    if citation.from_lists:
        matter = lists.matters_by_code.get(matter_code)
        if matter is None or not matter.legal_basis.strip():
            raise MissingLegalBasis(
                f"the lists {lists.version} give {matter_code} no legal basis: type it in"
            )
        parts.append(f"{matter.legal_basis} (事项清单 {matter_code}, {lists.version})")
    if citation.typed and citation.typed.strip():
        parts.append(citation.typed.strip())
    return "; ".join(parts)
