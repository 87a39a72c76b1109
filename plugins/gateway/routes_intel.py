"""Intelligence: regime posteriors (regime plugin) and market-state embeddings (embedder)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from .deps import Gw, Viewer
from .models import SYMBOL, EmbeddingIn
from .responses import errors

router = APIRouter(prefix="/intelligence", tags=["intelligence"])

AssetId = Annotated[str, Query(pattern=SYMBOL, max_length=64, description="instrument")]


@router.get("/regime", responses=errors(401, 403, 404, 422, 503))
async def regime(gw: Gw, who: Viewer, asset_id: AssetId) -> Any:
    """The latest filtered regime posterior of an instrument (regime plugin)."""
    return await gw.api.query("regime", "current", {"instrument": asset_id})


@router.get("/regime/model", responses=errors(401, 403, 404, 422, 503))
async def regime_model(gw: Gw, who: Viewer, asset_id: AssetId) -> Any:
    """The regime model fitted for an instrument: states, transition matrix, checksum."""
    return await gw.api.query("regime", "model", {"instrument": asset_id})


@router.post("/embedding", responses=errors(401, 403, 404, 422, 503))
async def embedding(gw: Gw, who: Viewer, body: EmbeddingIn) -> Any:
    """The market-state embedding of an instrument at a time (embedder plugin)."""
    return await gw.api.query("embedder", "embed", {"instrument": body.asset_id,
                                                    "at": body.at})


@router.get("/similar", responses=errors(401, 403, 404, 422, 503))
async def similar(
    gw: Gw, who: Viewer, asset_id: AssetId,
    at: Annotated[int, Query(ge=0, le=2**63 - 1, description="ns since the epoch")],
    k: Annotated[int, Query(ge=1, le=100)] = 10,
    horizons: Annotated[list[int] | None, Query(description="forward horizons, in bars")] =
        None,
) -> Any:
    """The ``k`` most similar past market states and what followed them (embedder)."""
    args = {"instrument": asset_id, "at": at, "k": k}
    if horizons:
        args["horizons"] = horizons
    return await gw.api.query("embedder", "similar", args)
