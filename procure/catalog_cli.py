"""`procure catalog …`: the product catalog from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from catalog.importers.catalog import (
    CatalogEntry,
    CatalogProblem,
    catalog_to_csv,
    catalog_to_yaml,
    parse_catalog,
)
from catalog.importers.catalog_form import entry_from_product, upsert_catalog_entry
from catalog.rules.matching import Matcher, MatchResult
from catalog.rules.matching_data import SHIPPED_CATALOG, load_catalog_products, load_matching_data

catalog_app = typer.Typer(
    help="The product catalog: check, import and export it as code; recognise products in free text.",
    no_args_is_help=True,
)


@catalog_app.callback()
def catalog() -> None:
    """The product catalog."""
    # A callback keeps `match` a subcommand even while it is the only one.


def _describe(result: MatchResult) -> str:
    where = "" if result.channel == "direct" else f", via {result.channel.replace('_', ' ')}"
    category = f", category {result.category}" if result.category else ""
    if result.product_id:
        return f"{result.product_id} (confidence {result.confidence:.2f}{category}{where})"
    if result.known is not None:
        free = f", free sibling of {result.known.sibling_of}" if result.known.free else ""
        return f"not in catalog: {result.known.name} by {result.known.vendor} (category {result.known.category}{free})"
    if result.non_saas is not None:
        return f"not SaaS: {result.non_saas} merchant"
    asks = f"did you mean {' / '.join(result.candidates)}?" if result.candidates else "no catalog product"
    return f"{asks} (confidence {result.confidence:.2f}{category}{where})"


@catalog_app.command()
def match(
    query: Annotated[str | None, typer.Argument(help="Text to recognise; omit to read one query per line.")] = None,
    catalog_file: Annotated[
        Path,
        typer.Option("--catalog", exists=True, dir_okay=False, help="Catalog YAML (default: the shipped demo)."),
    ] = SHIPPED_CATALOG,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Recognise a catalog product in free text ("can I get fimga for 2 people via AWS marketplace?").

    Without QUERY, reads stdin and writes one JSON object per non-blank line (JSON Lines).
    """
    try:
        matcher = Matcher(load_catalog_products(catalog_file), load_matching_data())
    except (ValueError, OSError) as error:
        typer.echo(f"cannot load {catalog_file}: {error}", err=True)
        raise typer.Exit(code=2) from error
    if query is not None:
        result = matcher.match(query)
        typer.echo(json.dumps(result.to_json(), ensure_ascii=False) if as_json else _describe(result))
        return
    for line in typer.get_text_stream("stdin"):
        if line.strip():
            typer.echo(json.dumps(matcher.match(line.rstrip("\r\n")).to_json(), ensure_ascii=False))


# --- catalog as code: check / import / export ---------------------------------------------


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        typer.echo(f"cannot read {path}: {error}", err=True)
        raise typer.Exit(code=2) from error


def _read_catalog(path: Path) -> tuple[list[CatalogEntry], list[CatalogProblem]]:
    return parse_catalog(_read_text(path), filename=path.name)


def _report(path: Path, problems: list[CatalogProblem]) -> None:
    for problem in problems:
        typer.echo(f"{path}:{problem}", err=True)
    typer.echo(f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}", err=True)


@catalog_app.command()
def check(
    catalog_file: Annotated[
        Path, typer.Argument(dir_okay=False, help="Catalog YAML or CSV (default: the shipped catalog).")
    ] = SHIPPED_CATALOG,
) -> None:
    """Validate the catalog and report every problem with its line number (exit 1 if any)."""
    entries, problems = _read_catalog(catalog_file)
    if problems:
        _report(catalog_file, problems)
        raise typer.Exit(code=1)
    typer.echo(f"{catalog_file}: {len(entries)} products, no problems")


def _engine() -> Engine:
    from catalog.db import make_engine
    from catalog.settings import get_settings

    return make_engine(get_settings().effective_database_url)


@catalog_app.command("import")
def import_catalog(
    catalog_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Catalog YAML or CSV.")],
) -> None:
    """Upsert every product of the file into the database, in one transaction: a file with any
    problem changes nothing. Products missing from the file are left as they are, so a file may
    hold only the products to add or change; its alternatives may name products already in the
    database."""
    from catalog import repository
    from catalog.db import transaction

    text = _read_text(catalog_file)
    engine = _engine()
    counts = {"added": 0, "changed": 0, "unchanged": 0}
    entries: list[CatalogEntry] = []
    problems: list[CatalogProblem] = []
    try:
        with transaction(engine) as session:
            existing = {p.id: tuple(p.aliases) for p in repository.list_products(session)}
            entries, problems = parse_catalog(text, filename=catalog_file.name, existing=existing)
            if not problems:
                for entry in entries:
                    counts[upsert_catalog_entry(session, entry)] += 1
    except Exception as error:  # the transaction was rolled back: say so, whatever went wrong
        typer.echo(f"import failed, nothing was changed: {error}", err=True)
        raise typer.Exit(code=1) from error
    finally:
        engine.dispose()
    if problems:
        _report(catalog_file, problems)
        typer.echo("nothing was imported", err=True)
        raise typer.Exit(code=1)
    typer.echo(
        f"{catalog_file}: {len(entries)} products ({counts['added']} added, {counts['changed']} changed, "
        f"{counts['unchanged']} unchanged)"
    )


@catalog_app.command("export")
def export_catalog(
    fmt: Annotated[str, typer.Option("--format", help="yaml or csv")] = "yaml",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", dir_okay=False, help="File (default stdout).")
    ] = None,
) -> None:
    """Write the catalog in the database as YAML or CSV; `procure catalog import` reads it back."""
    from catalog import repository
    from catalog.db import transaction

    if fmt not in ("yaml", "csv"):
        typer.echo("--format must be yaml or csv", err=True)
        raise typer.Exit(code=2)
    engine = _engine()
    try:
        with transaction(engine) as session:
            entries = [entry_from_product(p) for p in sorted(repository.list_products(session), key=lambda p: p.id)]
    finally:
        engine.dispose()
    text = catalog_to_yaml(entries) if fmt == "yaml" else catalog_to_csv(entries)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"{len(entries)} products written to {output}", err=True)
