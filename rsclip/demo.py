"""``rsclip demo``: a working index and search page in one command, even with no model hub.

With the real model available (hub cache, or --model FOLDER) it is used. Without it,
a tiny random SigLIP checkpoint is built with the same code the tests use, and a loud
notice says the rankings are meaningless: the point is to see every part run.
After the example searches it serves the web page (unless ``serve=False``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from encoder import DEFAULT_MODEL, ModelNotFoundError, load_encoder
from encoder.tiny_checkpoint import build_tiny_siglip
from rsclip.samples import write_samples
from service.settings import ENV_DATA_DIR, Settings

DEMO_QUERIES = ("a river winding through farmland", "a dense residential area", "a forest next to a lake")

RANDOM_WEIGHTS_NOTICE = """
################################################################################
#  NOTICE: the model '{model}' could not be loaded:
#  {reason}
#  The demo goes on with a TINY RANDOM SigLIP checkpoint built on this machine.
#  Everything runs for real, but THE SEARCH RESULTS ARE MEANINGLESS (random weights).
#  For real results pass --model /path/to/Git-RSCLIP (a downloaded checkpoint folder).
################################################################################
"""


def demo_data_dir(settings: Settings, explicit: bool) -> Path:
    return settings.data_dir if explicit else Path("./rsdata-demo")


def load_demo_encoder(settings: Settings, data_dir: Path):
    model = settings.model or DEFAULT_MODEL
    try:
        return load_encoder(model, runtime=settings.runtime())
    except ModelNotFoundError as exc:
        print(RANDOM_WEIGHTS_NOTICE.format(model=model, reason=str(exc)[:300]), file=sys.stderr)
        tiny = data_dir / "tiny-random-siglip"
        if not (tiny / "config.json").is_file():
            build_tiny_siglip(tiny, hidden_size=64, image_size=64, patch_size=16, text_length=16)
        return load_encoder(str(tiny), runtime=settings.runtime())


def run_demo(
    settings: Settings,
    images: str | None = None,
    explicit_data_dir: bool | None = None,
    *,
    serve: bool = True,
    host: str = "127.0.0.1",
    port: int = 7860,
) -> int:
    from indexer import IndexRun
    from service.searcher import Searcher, model_identity
    from storage import Store

    if explicit_data_dir is None:
        explicit_data_dir = ENV_DATA_DIR in os.environ
    data_dir = demo_data_dir(settings, explicit_data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    encoder = load_demo_encoder(settings, data_dir)
    if images is None:
        sample_dir = data_dir / "samples"
        if not sample_dir.is_dir():
            write_samples(sample_dir)
        images = str(sample_dir)
    with Store(data_dir, database_url=settings.database_url, writable=True) as store:
        store.bind_model(model_identity(encoder))
        report = IndexRun(store, encoder).run([images])
        print(f"Indexed {report.added} new image(s) from {images}; the index holds {store.count()}.")
    with Store(data_dir, database_url=settings.database_url) as store:
        searcher = Searcher(store, encoder)
        for query in DEMO_QUERIES:
            print(f"\nsearch: {query!r}")
            for hit in searcher.search_text(query, k=3):
                print(f"  {hit.score:7.4f}  {hit.image.member}")
    model_flag = f"--data-dir {data_dir} --model {encoder.spec.model_id}"
    print(f"\nSearch it yourself:\n  rsclip search 'a harbor with boats' {model_flag}")
    if not serve:
        print(f"  rsclip serve {model_flag}        # the web page and REST API")
        return 0
    from rsclip.commands.serve_cmd import serve as serve_app
    from search_api import ApiSettings

    print()
    serve_app(ApiSettings(data_dir=data_dir, database_url=settings.database_url), host, port, encoder=encoder)
    return 0
