"""Documents benchmark: ``python -m bench.documents [--invoices 15] [--contracts 8] [--throughput 16]``.

In one run, on a temporary SQLite database, document store and development PKI, the median ms per document of:
* the document pipeline (Jinja, WeasyPrint PDF/A-3b with the shared font configuration and pre-parsed stylesheet,
  Factur-X XML checked and written with the pages, pyHanko PAdES signatures with signers loaded once): per invoice,
  and per contract with its three signatures (client, expert, timestamped platform seal) and without them;
* the whole activity around it (`issue_mission_invoice`: the above plus gapless number, invoice record, stored
  PDF, ledger entry; `render_contract` + `sign_contract` x 2 + `seal_contract`: the above plus records and
  consents), on the database;
* our render step alone (the same page, no Factur-X, no database), and the contract's three signatures alone
  (the signing share of the contract pipeline);
* side by side, the bare baselines: the default WeasyPrint render of the same HTML (the stylesheet inlined so that
  the page is the same), ``weasyprint.HTML(string=html).write_pdf()`` with nothing reused; and, for the contract,
  the same three signatures of the same PDF with bare pyHanko (``SimpleSigner.load`` and a ``DummyTimeStamper``
  built per signature, ``signers.sign_pdf``);
* documents per second with 2 processes issuing invoices through the whole activity on the same database.
The goal: our pipeline <= 1.1 x the bare baselines of the same document (the render, plus the signatures for a
signed contract). Prints the figures and writes ``var/bench/documents.json`` with the machine (nproc, Python version).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import store.models  # noqa: F401  (registers every table)
from activities.documents import DocumentActivities
from activities.paperwork import expert_party, org_party
from bench.bare import bare_render, bare_signatures, with_inline_css
from config.settings import VAR, Settings
from documents.contracts import render_contract
from documents.invoices import render_invoice
from documents.rendering import Renderer
from documents.signing import SEAL_NAME, PdfSigner
from documents.store import LocalDocumentStore
from domain.documents import ContractRequest, MissionInvoiceRequest, SealContractRequest, SignContractRequest
from domain.invoice import Invoice, Party
from domain.money import Money
from domain.terms import MilestonePlan, ProposalTerms
from store.base import Base
from store.db import make_engine, make_session_factory, transaction
from store.models.community import Expert, Organisation, User
from store.models.legal import InvoiceRecord


class RecordingRenderer(Renderer):
    """Our renderer, keeping the last HTML it laid out (the bare render gets exactly the same page)."""

    last_html: str = ""

    def html(self, template: str, *, language: str, **context: Any) -> str:
        self.last_html = super().html(template, language=language, **context)
        return self.last_html


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process): the CPU time is the steadier figure on a shared machine, the
    wall time (with I/O waits such as fsync) the one the goal is about."""
    gc.collect()  # the garbage of the previous sample is not this one's to collect
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


class Bench:
    def __init__(self, root: Path, *, fresh: bool = True) -> None:
        """`fresh`: create the tables and the parties; otherwise join the database another process created."""
        self.root = root
        self.database_url = f"sqlite:///{root / 'bench.db'}"
        self.settings = Settings(
            environment="test", database_url=self.database_url, keys_dir=root / "keys",
            document_store=f"file://{root / 'docs'}",
        )  # fmt: skip
        engine = make_engine(self.database_url)
        if fresh:
            Base.metadata.create_all(engine)
        self.sessions = make_session_factory(engine)
        self.renderer = RecordingRenderer()
        self.docs = DocumentActivities(self.sessions, LocalDocumentStore(root / "docs"), self.renderer, self.settings)
        self.signer = PdfSigner.from_settings(self.settings)
        self._invoice: Invoice | None = None
        self._contract_parties: tuple[Party, Party] | None = None
        self._unsigned_contract: bytes | None = None
        self.org_id, self.expert_id, self.client_user, self.expert_user = self._parties() if fresh else self._join()

    def _join(self) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
        with self.sessions() as s:
            users = {u.role: u.id for u in s.query(User)}
            return s.query(Organisation).one().id, s.query(Expert).one().id, users["client"], users["expert"]

    def _parties(self) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID, uuid.UUID]:
        with transaction(self.sessions) as s:
            org = Organisation(
                legal_name="Acme Industries SA", legal_form="SA", country="FR", siren="552100554",
                siret="55210055400013", vat_number="FR03552100554", address_line="25 avenue de l'Opéra",
                postcode="75001", city="Paris", billing_email="ap@acme.fr",
            )  # fmt: skip
            expert = Expert(
                display_name="Marie", legal_name="Marie Dupont Conseil", legal_form="EI", country="FR",
                address_line="12 quai Saint-Antoine", postcode="69002", city="Lyon", daily_rate=Decimal("850"),
                available_from=date(2026, 1, 1), vat_regime="vat_registered", siren="732829320",
                siret="73282932000074", vat_number="FR44732829320", iban="FR7630006000011234567890189",
                billing_mandate_accepted_on=date(2026, 1, 2),
            )  # fmt: skip
            s.add_all([org, expert])
            s.flush()
            unusable = "!"  # no login in a benchmark
            client = User(email="c@acme.fr", full_name="Claire Client", password_hash=unusable, role="client",
                          organisation_id=org.id)  # fmt: skip
            consultant = User(email="m@dupont.fr", full_name="Marie Dupont", password_hash=unusable, role="expert",
                              expert_id=expert.id)  # fmt: skip
            s.add_all([client, consultant])
            s.flush()
            return org.id, expert.id, client.id, consultant.id

    def invoice(self, n: int, tag: str = "main") -> None:
        mission_id = uuid.uuid4()
        self.docs.issue_mission_invoice(
            MissionInvoiceRequest(
                mission_id=mission_id, milestone_id=f"bench:{tag}:{n}", contract_id=uuid.uuid4(),
                expert_id=self.expert_id, client_org_id=self.org_id,
                description="Jalon 1 : diagnostic financier et plan de trésorerie sur 13 semaines",
                amount=Money(amount=Decimal("4250.00")), service_date=date(2026, 9, 12),
                issue_date=date(2026, 9, 15), language="fr",
            )
        )  # fmt: skip

    def contract_request(self) -> ContractRequest:
        terms = ProposalTerms(
            approach="Diagnostic financier, puis plan de trésorerie sur 13 semaines et comité de pilotage.",
            pricing="daily", daily_rate=Decimal("850.00"), days=Decimal("6.0"), currency="EUR",
            milestones=[
                MilestonePlan(title="Diagnostic", amount=Decimal("2550.00"), due_date=date(2026, 10, 1)),
                MilestonePlan(title="Plan", amount=Decimal("2550.00"), due_date=date(2026, 10, 15)),
            ],
        )  # fmt: skip
        return ContractRequest(
            mission_id=uuid.uuid4(), client_org_id=self.org_id, expert_id=self.expert_id,
            mission_title="Plan de trésorerie", language="fr", confidential=True, terms=terms,
            total=Money(amount=Decimal("5100.00")),
        )  # fmt: skip

    def contract(self) -> None:
        """The whole activity: render, client and expert signatures, timestamped seal, with records and consents."""
        mission_id = uuid.uuid4()
        request = self.contract_request().model_copy(update={"mission_id": mission_id})
        contract = self.docs.render_contract(request)
        sha = contract.sha256
        for party, user in (("client", self.client_user), ("expert", self.expert_user)):
            sha = self.docs.sign_contract(
                SignContractRequest(
                    mission_id=mission_id, contract_id=contract.document_id, party=party,
                    signer_user_id=user, signed_at=datetime.now(UTC), expected_sha256=sha,
                )
            ).sha256  # fmt: skip
        self.docs.seal_contract(SealContractRequest(mission_id=mission_id, contract_id=contract.document_id))

    def invoice_documents(self) -> bytes:
        """The document pipeline of an invoice (Jinja, XML + XSD, WeasyPrint with Factur-X), no database: the
        invoice the warm-up issued, rendered again."""
        if self._invoice is None:
            with self.sessions() as s:
                record = s.query(InvoiceRecord).order_by(InvoiceRecord.created_at.desc()).first()
                assert record is not None
                self._invoice = Invoice.model_validate(record.snapshot)
        return render_invoice(self.renderer, self._invoice, platform_name=self.settings.platform.legal_name).pdf

    def contract_documents(self, *, signed: bool) -> bytes:
        """The document pipeline of a contract, no database (the parties are read once, as `invoice_documents`
        reads its invoice once): Jinja, WeasyPrint and, when `signed`, the client's and the expert's PAdES
        signatures and the timestamped platform seal (three incremental updates)."""
        if self._contract_parties is None:
            with self.sessions() as s:
                org, expert = s.get_one(Organisation, self.org_id), s.get_one(Expert, self.expert_id)
                self._contract_parties = org_party(org), expert_party(s, expert)
        client, consultant = self._contract_parties
        pdf = render_contract(
            self.renderer, self.contract_request(), client=client, expert=consultant,
            platform_name=self.settings.platform.legal_name, issued_on=datetime.now().date(),
        )  # fmt: skip
        if not signed:
            self._unsigned_contract = pdf
            return pdf
        return self.contract_signatures(pdf)

    def contract_signatures(self, pdf: bytes | None = None) -> bytes:
        """The three signatures alone (the last unsigned contract rendered, when no `pdf`): the signing share of
        the contract pipeline."""
        if pdf is None:
            pdf = self._unsigned_contract or self.contract_documents(signed=False)
        now = datetime.now(UTC).isoformat()
        for party, user, name in (("client", self.client_user, "Claire Client"),
                                  ("expert", self.expert_user, "Marie Dupont")):  # fmt: skip
            pdf = self.signer.sign(
                pdf, signer_name=f"user-{user}", common_name=name, field_name=f"{party.capitalize()}Signature",
                reason=f"{party} consent, {now}",
            )  # fmt: skip
        return self.signer.sign(
            pdf, signer_name=SEAL_NAME, common_name=f"{self.settings.platform.legal_name} seal",
            field_name="PlatformSeal", reason="platform seal", timestamp=True,
        )  # fmt: skip

    def bare_contract_signatures(self) -> bytes:
        """The same three signatures of the same unsigned contract, with bare pyHanko."""
        pdf = self._unsigned_contract or self.contract_documents(signed=False)
        names = [(f"user-{self.client_user}", "ClientSignature"), (f"user-{self.expert_user}", "ExpertSignature"),
                 (SEAL_NAME, "PlatformSeal")]  # fmt: skip
        return bare_signatures(pdf, self.signer.pki, names)

    def render_only(self, template_html: str) -> bytes:
        """Our render step alone (shared font configuration, pre-parsed stylesheet, PDF/A-3b) on the same page."""
        return self.renderer.pdf_from_html(template_html)


def measure(
    bench: Bench, label: str, steps: dict[str, Callable[[int], Any]], count: int, *, signed_contract: bool = False
) -> dict[str, Any]:
    """Median ms of each step and of the bare baselines, interleaved so that machine noise hits all alike; the last
    warm-up run leaves the page that the bare render and our render step lay out."""
    for step in steps.values():  # warm-up: templates compiled, fonts loaded, keys generated
        step(-1)
    html = bench.renderer.last_html
    bare_html = with_inline_css(html)
    bare_render(bare_html)
    baselines: dict[str, Callable[[], Any]] = {"bare_weasyprint": lambda: bare_render(bare_html)}
    if signed_contract:
        baselines["bare_pyhanko"] = bench.bare_contract_signatures
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in [*steps, "render_step", *baselines]}
    for i in range(count):
        for name, step in steps.items():
            samples[name].append(timed(lambda step=step, i=i: step(i)))  # type: ignore[misc]
        for name, baseline in baselines.items():
            samples[name].append(timed(baseline))
        samples["render_step"].append(timed(lambda: bench.render_only(html)))
    wall = {name: median_ms([w for w, _ in values]) for name, values in samples.items()}
    cpu = {name: median_ms([c for _, c in values]) for name, values in samples.items()}
    bare, bare_cpu = wall.pop("bare_weasyprint"), cpu.pop("bare_weasyprint")
    result: dict[str, Any] = {"count": count, "bare_weasyprint_ms": bare, "bare_weasyprint_cpu_ms": bare_cpu}
    print(f"{label}: bare WeasyPrint {bare:.1f} ms (CPU {bare_cpu:.1f} ms)")
    if signed_contract:
        signing, signing_cpu = wall.pop("bare_pyhanko"), cpu.pop("bare_pyhanko")
        result |= {"bare_pyhanko_signatures_ms": signing, "bare_pyhanko_signatures_cpu_ms": signing_cpu}
        print(f"{label}: bare pyHanko signatures {signing:.1f} ms (CPU {signing_cpu:.1f} ms)")
    for name in wall:
        result[f"ours_{name}_ms"], result[f"ours_{name}_cpu_ms"] = wall[name], cpu[name]
        result[f"ratio_{name}_over_bare"] = round(wall[name] / bare, 3)
        result[f"cpu_ratio_{name}_over_bare"] = round(cpu[name] / bare_cpu, 3)
        print(
            f"  ours {name:20s} {wall[name]:7.1f} ms  {wall[name] / bare:.2f}x   (CPU {cpu[name]:7.1f} ms  "
            f"{cpu[name] / bare_cpu:.2f}x)"
        )
    return result


def goal(ours: float, *bare: float) -> float:
    """Our pipeline over the bare baselines of the same document."""
    return round(ours / sum(bare), 3)


def _worker(root: str, tag: str, count: int) -> float:
    """One process: its own renderer and session factory on the shared database; returns its busy seconds."""
    bench = Bench(Path(root), fresh=False)
    bench.invoice(0, f"{tag}-warm")
    start = time.perf_counter()
    for n in range(count):
        bench.invoice(n, tag)
    return time.perf_counter() - start


def throughput(root: Path, total: int, processes: int = 2) -> dict[str, Any]:
    per = total // processes
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=processes) as pool:
        futures = [pool.submit(_worker, str(root), f"p{i}", per) for i in range(processes)]
        busy = [f.result() for f in futures]
    wall = time.perf_counter() - start
    # per-process busy time excludes process start-up and warm-up (fonts, templates): the steady state
    steady = per * processes / max(busy)
    print(
        f"throughput with {processes} processes: {steady:.2f} invoices/s steady "
        f"({per * processes} invoices, {wall:.1f} s wall including start-up)"
    )
    return {"processes": processes, "invoices": per * processes, "docs_per_second": round(steady, 2),
            "wall_seconds_with_startup": round(wall, 2)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invoices", type=int, default=15)
    parser.add_argument("--contracts", type=int, default=12)
    parser.add_argument("--throughput", type=int, default=16, help="invoices issued by the 2 processes")
    parser.add_argument("--out", type=Path, default=VAR / "bench" / "documents.json")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="innot-bench-docs-") as tmp:
        root = Path(tmp)
        bench = Bench(root)
        invoice = measure(
            bench, "invoice",
            {"activity": bench.invoice, "documents": lambda _n: bench.invoice_documents()},
            args.invoices,
        )  # fmt: skip
        contract = measure(
            bench, "contract",
            {
                "activity": lambda _n: bench.contract(),
                "documents": lambda _n: bench.contract_documents(signed=True),
                "documents_unsigned": lambda _n: bench.contract_documents(signed=False),
                "signatures": lambda _n: bench.contract_signatures(),
            },
            args.contracts, signed_contract=True,
        )  # fmt: skip
        rate = throughput(root, args.throughput)
    goals = {
        "invoice": goal(invoice["ours_documents_ms"], invoice["bare_weasyprint_ms"]),
        "contract_signed": goal(
            contract["ours_documents_ms"], contract["bare_weasyprint_ms"], contract["bare_pyhanko_signatures_ms"]
        ),
        "contract_unsigned": goal(contract["ours_documents_unsigned_ms"], contract["bare_weasyprint_ms"]),
        "invoice_cpu": goal(invoice["ours_documents_cpu_ms"], invoice["bare_weasyprint_cpu_ms"]),
        "contract_signed_cpu": goal(
            contract["ours_documents_cpu_ms"],
            contract["bare_weasyprint_cpu_ms"],
            contract["bare_pyhanko_signatures_cpu_ms"],
        ),
        "contract_unsigned_cpu": goal(contract["ours_documents_unsigned_cpu_ms"], contract["bare_weasyprint_cpu_ms"]),
    }
    print("goal, ours / bare (<= 1.1): " + ", ".join(f"{name} {ratio:.2f}" for name, ratio in goals.items()))
    result = {
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "weasyprint": __import__("weasyprint").__version__,
        },
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "invoice": invoice,
        "contract": contract,
        "throughput": rate,
        "goal": "ours_documents_ms <= 1.1 x (bare_weasyprint_ms + bare_pyhanko_signatures_ms for a signed "
        "contract) of the same document (the document pipeline: Jinja, WeasyPrint, Factur-X, signatures); "
        "ours_activity_ms adds the database, numbering, ledger and store",
        "goal_ratios": goals,
        "goal_met": {name: ratio <= 1.1 for name, ratio in goals.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"written to {args.out} ({result['seconds']} s)")


if __name__ == "__main__":
    main()
