"""The naive script a user would write instead of rsclip: fp32, one image per call.

    python bench/naive_script.py CHECKPOINT IMAGE_FOLDER OUT.npy

The baseline every small job is timed against, as its own process so that start-up
(importing torch and transformers, loading the weights) counts as it does for a user.
"""

import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from transformers import AutoModel, AutoProcessor


def main() -> int:
    checkpoint, folder, out = sys.argv[1:4]
    model = AutoModel.from_pretrained(checkpoint).eval()
    processor = AutoProcessor.from_pretrained(checkpoint)
    vectors = []
    for path in sorted(Path(folder).iterdir()):
        if not path.is_file():
            continue
        inputs = processor(images=Image.open(path).convert("RGB"), return_tensors="pt")
        with torch.no_grad():
            features = model.get_image_features(**inputs)
        features = getattr(features, "pooler_output", features)
        vectors.append((features / features.norm(dim=-1, keepdim=True))[0].numpy())
    np.save(out, np.stack(vectors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
