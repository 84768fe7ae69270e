"""The model manager offers a model only where it fits in memory, and says why not (issue: 5B only where it fits).

Expected figures are computed here by hand from the spec's parameter counts (5,066,902,976 backbone + 53,295,668
pose-head parameters for Sapiens2-5B), not from the module's own helpers.
"""

from __future__ import annotations

import pytest

from sapiens_core.cards import CARDS
from sapiens_core.memory_fit import MachineMemory, card_fits, machine_memory
from sapiens_core.sapiens2_cards import SAPIENS2_CARDS

GB = 1e9
POSE_5B_PARAMS = 5_066_902_976 + 53_295_668


def _card(card_id: str):
    return next(c for c in (*SAPIENS2_CARDS, *CARDS) if c.id == card_id)


def test_5b_pose_needs_about_14_gb_of_gpu_memory_in_bf16_and_26_gb_of_ram_in_fp32():
    card = _card("sapiens2-pose-5b")
    on_gpu = card_fits(card, MachineMemory(80 * 10**9, "H100", 16 * 10**9))
    on_cpu = card_fits(card, MachineMemory(None, "", 64 * 10**9))
    assert on_gpu.ok and on_cpu.ok
    assert on_gpu.needed_bytes == pytest.approx(POSE_5B_PARAMS * 2 * 1.2 + 1.5e9)  # 13.8 GB
    assert on_cpu.needed_bytes == pytest.approx(POSE_5B_PARAMS * 4 * 1.2 + 1.5e9)  # 26.1 GB


def test_5b_on_an_8_gb_gpu_is_refused_with_the_figures():
    fit = card_fits(_card("sapiens2-seg-5b"), MachineMemory(8 * 10**9, "RTX 3070", 64 * 10**9))
    assert not fit.ok
    assert fit.reason == (
        "sapiens2-seg-5b needs about 13.7 GB of GPU memory in bf16; RTX 3070 has 8.0 GB"
    )  # (5,066,902,976 + 22,685,661) x 2 B x 1.2 + 1.5 GB = 13.7 GB


def test_5b_on_a_cpu_with_16_gb_of_ram_is_refused_but_0_4b_fits():
    memory = MachineMemory(None, "", 16 * 10**9)
    fit = card_fits(_card("sapiens2-pose-5b"), memory)
    assert not fit.ok
    assert "RAM to run on the CPU in fp32" in fit.reason and "has 16.0 GB" in fit.reason
    assert "26.1 GB" in fit.reason
    assert card_fits(_card("sapiens2-pose-0.4b"), memory).ok  # ~3.4 GB


def test_the_boundary_fits_and_one_byte_less_does_not():
    card = _card("sapiens2-pose-1b")
    gpu_needed = card_fits(card, MachineMemory(10**12, "gpu", None)).needed_bytes
    assert card_fits(card, MachineMemory(int(gpu_needed) + 1, "gpu", None)).ok
    assert not card_fits(card, MachineMemory(int(gpu_needed) - 1, "gpu", None)).ok


def test_a_v1_bf16_file_counts_two_bytes_per_weight_and_fp32_files_four():
    bf16 = next(c for c in CARDS if c.format_info.dtype == "bfloat16")
    fp32 = next(c for c in CARDS if c.format_info.dtype == "float32" and c.size == bf16.size and c.task == bf16.task)
    memory = MachineMemory(None, "", 10**12)
    # the bf16 file is half the size of the fp32 one, and the weights run in the file's own dtype
    weights_bf16 = (card_fits(bf16, memory).needed_bytes - 1.5e9) / 1.2
    weights_fp32 = (card_fits(fp32, memory).needed_bytes - 1.5e9) / 1.2
    assert weights_bf16 == pytest.approx(bf16.approx_bytes)
    assert weights_fp32 == pytest.approx(fp32.approx_bytes)


def test_unknown_memory_never_hides_a_model():
    assert card_fits(_card("sapiens2-pose-5b"), MachineMemory(None, "", None)).ok


def test_this_machine_reports_its_ram():
    memory = machine_memory()
    assert memory.ram_bytes is None or memory.ram_bytes > 256 * 2**20
