"""Score a model on labelled data the way the literature does, and map the embedding space.

- ``metrics``: pure numpy scores (retrieval R@K and mR, zero-shot accuracy), ties counted against.
- ``datasets``: caption files (Karpathy JSON, ``*_caps.txt`` + ``*_filename.txt``) and class folders.
- ``runners``: run an :class:`encoder.Encoder` over a dataset and score it.
- ``plotting`` / ``embedding_map``: PNG pictures and the 2-D map of an index.
"""
