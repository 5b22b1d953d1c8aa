"""The benchmark's encryption-cost report: on throughput (the median of the alternating rounds' ratios) and on
server CPU per operation (median over rounds, and the ratio), each with a verdict against 10%."""

from __future__ import annotations

import math

import pytest

from bench.s3_bench import Result, cpu_ms_per_op, encryption_cost, parse_args


def run(workload: str, ops: int, cpu_s: float, seconds: float, errors: int = 0) -> Result:
    return Result(
        workload, ops=ops, seconds=seconds, bytes=ops * (1 << 20), server_cpu_s=cpu_s, errors=errors
    )


def test_cpu_per_op_is_the_median_of_the_rounds() -> None:
    rounds = [run("get_1m", 100, 0.060, 1), run("get_1m", 100, 0.500, 1), run("get_1m", 100, 0.064, 1)]
    assert cpu_ms_per_op(rounds) == pytest.approx(0.64)  # the loaded round (5 ms/op) does not decide it
    assert cpu_ms_per_op(
        [*rounds[:2], run("get_1m", 100, 0.07, 1), run("get_1m", 100, 0.062, 1)]
    ) == pytest.approx(0.66)
    assert math.isnan(cpu_ms_per_op([Result("get_1m", skipped="not selected")]))


def test_both_measures_are_judged_and_every_figure_is_reported() -> None:
    sealed = {
        "get_1m": [
            run("get_1m", 1000, 0.63, 2.0),
            run("get_1m", 1000, 0.65, 2.5),
            run("get_1m", 1000, 0.64, 2.25),
        ],
        "put_1m": [run("put_1m", 500, 2.30, 5.0)],
        "get_4k": [Result("get_4k", skipped="not selected")],
    }
    plain = {
        "get_1m": [
            run("get_1m", 1000, 0.60, 1.9),
            run("get_1m", 1000, 0.58, 2.0),
            run("get_1m", 1000, 0.59, 1.8),
        ],
        "put_1m": [run("put_1m", 500, 2.00, 4.0, errors=1)],
        "get_4k": [Result("get_4k", skipped="not selected")],
    }
    text, data = encryption_cost(sealed, plain)
    get = data["get_1m"]
    assert get["server_cpu_ms_per_op"] == pytest.approx(0.64)
    assert get["server_cpu_ms_per_op_plain"] == pytest.approx(0.59)
    assert get["server_cpu_ratio"] == pytest.approx(0.64 / 0.59, abs=1e-4)
    assert get["verdict_cpu"] == "met"  # +8.5% CPU
    assert get["mib_per_s"] == pytest.approx(1000 / 2.25, abs=0.1)  # medians, not the best round
    assert get["mib_per_s_plain"] == pytest.approx(1000 / 1.9, abs=0.1)
    # each round against the plain server's same round: 1.9/2.0, 2.0/2.5, 1.8/2.25 -> median 0.8
    assert get["throughput_cost_per_round"] == pytest.approx([0.05, 0.2, 0.2])
    assert get["throughput_cost"] == pytest.approx(0.2)
    assert get["verdict_throughput"] == "MISSED"
    assert get["verdict"] == "MISSED"
    assert get["rounds"] == 3
    assert get["ops_measured"] == 3000
    assert data["put_1m"]["verdict"] == "ERR"
    assert "get_4k" not in data
    for figure in ("CPU cost", "thr cost", "+8.5%", "+20.0%", "+5..+20%"):
        assert figure in text
    faster = {"get_1m": [run("get_1m", 1000, 0.61, 1.9), run("get_1m", 1000, 0.60, 2.0)]}
    assert encryption_cost(faster, {"get_1m": plain["get_1m"]})[1]["get_1m"]["verdict"] == "met"


def test_the_encryption_cost_mode_picks_both_servers_and_the_four_workloads() -> None:
    args = parse_args(["--encryption-cost"])
    assert args.servers == "lakebox,lakebox-plain"
    assert args.only == "put_1m,get_1m,put_256m,get_256m"
    assert args.rounds == 3
    assert args.large_count == 4
    assert parse_args(["--encryption-cost", "--rounds", "5", "--large-count", "2"]).large_count == 2
    assert parse_args([]).rounds == 1
