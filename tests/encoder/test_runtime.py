"""Fast paths are chosen per machine and stay faithful to the fp32 reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from encoder import load_encoder
from encoder.runtime import Runtime, choose_runtime, cpu_flags, usable_cores

FIDELITY = 0.999  # minimum cosine to the fp32 vector, image by image
TEXTS = ["a river winding through farmland", "an airport with two runways", "snow covered mountains"]


@pytest.fixture(scope="module")
def bf16_encoder(tiny_checkpoint):
    return load_encoder(str(tiny_checkpoint), runtime=Runtime(device="cpu", precision="bf16", batch_size=4))


def test_bf16_image_vectors_stay_within_cosine_0999_of_fp32_image_by_image(encoder, bf16_encoder, make_image):
    # The tiny random model is the harsh case: its 64-d vectors have no redundancy to
    # average rounding out. The SigLIP-L-shaped model (bench/) measures about 0.9999.
    images = [make_image(seed, size=(40 + seed, 36)) for seed in range(12)]
    reference = encoder.encode_images(images)
    fast = bf16_encoder.encode_images(images)
    cosines = (reference * fast).sum(axis=1)
    assert cosines.min() >= FIDELITY, cosines


def test_bf16_text_vectors_stay_within_cosine_0999_of_fp32(encoder, bf16_encoder):
    cosines = (encoder.encode_texts(TEXTS) * bf16_encoder.encode_texts(TEXTS)).sum(axis=1)
    assert cosines.min() >= FIDELITY, cosines


def test_bf16_encoder_really_runs_in_bf16(bf16_encoder):
    assert bf16_encoder.precision == "bf16"
    assert {p.dtype for p in bf16_encoder._model.parameters()} == {torch.bfloat16}


def test_bf16_is_chosen_on_cpus_with_bf16_instructions():
    assert choose_runtime("cpu", flags=frozenset({"avx2", "avx512_bf16"})).precision == "bf16"
    assert choose_runtime("cpu", flags=frozenset({"amx_bf16", "amx_tile"})).precision == "bf16"


def test_fp32_is_chosen_on_cpus_without_bf16_instructions():
    assert choose_runtime("cpu", flags=frozenset({"avx2", "avx512f"})).precision == "fp32"


def test_explicit_precision_and_batch_size_override_the_machine_choice():
    runtime = choose_runtime("cpu", "fp32", 3, flags=frozenset({"avx512_bf16"}))
    assert (runtime.precision, runtime.batch_size) == ("fp32", 3)


def test_cpu_runtime_uses_every_usable_core_with_a_cpu_batch_size():
    runtime = choose_runtime("cpu", flags=frozenset())
    assert runtime.threads == usable_cores() >= 1
    assert runtime.batch_size == 8


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_asking_for_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(ValueError, match="no CUDA GPU"):
        choose_runtime("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_defaults_to_half_precision_and_large_batches():
    runtime = choose_runtime()
    assert runtime.device == "cuda" and runtime.precision in ("bf16", "fp16") and runtime.batch_size == 64


def test_unknown_precision_and_device_are_refused():
    with pytest.raises(ValueError, match="precision"):
        Runtime(precision="int4")
    with pytest.raises(ValueError, match="unknown device"):
        choose_runtime("tpu")


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16\n")
    assert cpu_flags(cpuinfo) == {"fpu", "sse2", "avx512f", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_runtime_sets_the_model_thread_count(tiny_checkpoint):
    before = torch.get_num_threads()
    try:
        load_encoder(str(tiny_checkpoint), runtime=Runtime(threads=1))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_encode_pixels_matches_encode_images_in_batches(bf16_encoder, make_image):
    """Batching changes nothing: a batch of 5 gives each image's own vector."""
    images = [make_image(seed) for seed in range(5)]
    one_by_one = np.concatenate([bf16_encoder.encode_images([image]) for image in images])
    batched = bf16_encoder.encode_images(images)
    assert (one_by_one * batched).sum(axis=1).min() >= FIDELITY


@pytest.fixture(scope="module")
def compiled_encoder(tiny_checkpoint):
    return load_encoder(str(tiny_checkpoint), runtime=Runtime(precision="bf16", batch_size=4, compile=True))


def test_compiled_bf16_image_vectors_stay_within_cosine_0999_of_fp32(encoder, compiled_encoder, make_image):
    images = [make_image(seed) for seed in range(4)]  # one full batch: the compiled path
    cosines = (encoder.encode_images(images) * compiled_encoder.encode_images(images)).sum(axis=1)
    assert not compiled_encoder._image_features.failed, compiled_encoder._image_features.failure
    assert cosines.min() >= FIDELITY, cosines


def test_compiled_encoder_runs_other_batch_sizes_uncompiled_and_alike(bf16_encoder, compiled_encoder, make_image):
    images = [make_image(seed) for seed in range(3)]  # not the compiled size
    cosines = (bf16_encoder.encode_images(images) * compiled_encoder.encode_images(images)).sum(axis=1)
    assert cosines.min() >= 0.9999


def test_compile_is_on_for_cpu_bf16_and_fp32_after_the_payback_and_off_otherwise():
    from encoder.runtime import COMPILE_PAYBACK_IMAGES

    for precision in ("bf16", "fp32"):  # both measured faster compiled on a CPU
        runtime = choose_runtime("cpu", precision)
        assert runtime.compile and runtime.compile_after == COMPILE_PAYBACK_IMAGES
    assert not choose_runtime("cpu", "int8").compile
    assert not choose_runtime("cpu", "bf16", compile=False).compile
    assert choose_runtime("cpu", "fp32", compile=True).compile_after == 0


def test_an_fp32_server_starts_without_compiling(tiny_checkpoint):
    server = load_encoder(str(tiny_checkpoint), runtime=Runtime(precision="fp32", batch_size=4, compile=True))
    server.prepare_for_queries()
    assert 1 not in server._image_features.batch_sizes  # its one-image path stays the plain model


def test_a_failing_compiler_falls_back_to_the_plain_model(encoder, make_image):
    from encoder.runtime import CompiledForward

    def broken_toolchain(graph, example_inputs):  # a TorchDynamo backend that cannot build, as without a C++ compiler
        raise RuntimeError("no C++ compiler found")

    forward = CompiledForward(encoder._model.get_image_features, batch_size=2, backend=broken_toolchain)
    pixels = torch.from_numpy(np.stack([encoder.preprocess(make_image(seed)) for seed in range(2)]))
    with torch.inference_mode():
        vectors = forward(pixel_values=pixels)
        plain = encoder._model.get_image_features(pixel_values=pixels)
    assert forward.failed and "no C++ compiler found" in forward.failure
    torch.testing.assert_close(getattr(vectors, "pooler_output", vectors), getattr(plain, "pooler_output", plain))


def test_a_compile_that_fails_once_is_tried_again_and_then_used(encoder, make_image):
    from encoder.runtime import CompiledForward

    attempts = []

    def flaky_toolchain(graph, example_inputs):  # fails the first time, as a slow worker pool can
        attempts.append(graph)
        if len(attempts) == 1:
            raise RuntimeError("compile worker did not start in time")
        return graph.forward

    forward = CompiledForward(encoder._model.get_image_features, batch_size=2, backend=flaky_toolchain)
    pixels = torch.from_numpy(np.stack([encoder.preprocess(make_image(seed)) for seed in range(2)]))
    with torch.inference_mode():
        forward(pixel_values=pixels)
    assert len(attempts) == 2 and not forward.failed and forward.failure is None


def test_prepared_encoder_answers_single_image_queries_compiled_and_faithfully(tiny_checkpoint, encoder, make_image):
    server = load_encoder(str(tiny_checkpoint), runtime=Runtime(precision="bf16", batch_size=4, compile=True))
    server.prepare_for_queries()
    image = make_image(7)
    assert 1 in server._image_features.batch_sizes and not server._image_features.failed
    assert float(server.encode_images([image])[0] @ encoder.encode_images([image])[0]) >= FIDELITY


def test_a_small_job_never_compiles_and_a_large_one_compiles_after_its_payback(encoder, make_image):
    from encoder.runtime import COMPILE_PAYBACK_IMAGES, CompiledForward

    compiled_graphs = []

    def recording_backend(graph, example_inputs):  # compiles nothing, notes that it was asked to
        compiled_graphs.append(graph)
        return graph.forward

    forward = CompiledForward(encoder._model.get_image_features, batch_size=2, backend=recording_backend, plain_batches=2)
    pixels = torch.from_numpy(np.stack([encoder.preprocess(make_image(seed)) for seed in range(2)]))
    with torch.inference_mode():
        for _ in range(2):
            forward(pixel_values=pixels)
        assert not compiled_graphs
        forward(pixel_values=pixels)
    assert compiled_graphs
    assert choose_runtime("cpu", "bf16").compile_after == COMPILE_PAYBACK_IMAGES
    assert choose_runtime("cpu", "bf16", compile=True).compile_after == 0  # asked for: compiled at once
