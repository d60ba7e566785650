"""`procure catalog …`: the product catalog from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from catalog.matching import Matcher, MatchResult
from catalog.matching_data import SHIPPED_CATALOG, load_catalog_products, load_matching_data

catalog_app = typer.Typer(help="The product catalog: recognise products in free text.", no_args_is_help=True)


@catalog_app.callback()
def catalog() -> None:
    """The product catalog."""
    # A callback keeps `match` a subcommand even while it is the only one.


def _describe(result: MatchResult) -> str:
    where = "" if result.channel == "direct" else f", via {result.channel.replace('_', ' ')}"
    category = f", category {result.category}" if result.category else ""
    if result.product_id:
        return f"{result.product_id} (confidence {result.confidence:.2f}{category}{where})"
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
