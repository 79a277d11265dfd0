"""The bench harness's pure parts: wrk's summary, the rows and their verdicts, RESULTS.md."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bench import push, results
from bench.fanout import Step
from bench.stats import percentile
from bench.table import BenchFailure, Row, markdown
from bench.wrk import WrkError, parse

HOW = "median of 4 × 1 s, pinned"

WRK_OUTPUT = """\
Running 2s test @ http://127.0.0.1:40000/v1/feeds/bench/p000?key=k
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.10ms    1.20ms  20.31ms   81.00%
    Req/Sec    10.45k     1.01k   12.00k    70.00%
  Latency Distribution
     50%    2.90ms
     99%    7.80ms
  20812 requests in 2.00s, 3.02MB read
  Socket errors: connect 0, read 2, write 1, timeout 3
  Non-2xx or 3xx responses: 17
Requests/sec:  10405.33
Transfer/sec:      1.51MB
"""


def test_wrk_summary_is_read() -> None:
    result = parse(WRK_OUTPUT)
    assert result.requests_per_second == pytest.approx(10405.33)
    assert result.requests == 20812
    assert result.bad_status == 17
    assert result.socket_errors == 6


def test_clean_wrk_summary_has_no_errors() -> None:
    clean = "\n".join(
        line for line in WRK_OUTPUT.splitlines() if "errors" not in line and "Non-2xx" not in line
    )
    result = parse(clean)
    assert (result.bad_status, result.socket_errors) == (0, 0)


def test_the_304_count_is_read_when_the_script_gave_it() -> None:
    assert parse(WRK_OUTPUT).not_304 is None
    assert parse(WRK_OUTPUT + "answers other than 304: 12\n").not_304 == 12
    assert parse(WRK_OUTPUT + "answers other than 304: 0\n").not_304 == 0


def test_output_without_summary_is_refused() -> None:
    with pytest.raises(WrkError, match="unable to connect"):
        parse("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_ratio_and_verdicts() -> None:
    fast = Row("feedserver 304", 4000.0, "req/s", "nginx 304", 10000.0, HOW, "ratio >= 0.35")
    assert fast.ratio == pytest.approx(0.4)
    assert fast.verdict == "met"
    slow = Row("p99", 300.0, "ms", "nchan p99", 200.0, HOW, "ratio <= 1.2")
    assert slow.verdict == "missed"
    memory = Row("memory", 12.5, "KiB", "nchan", 10.0, HOW, "figure < 16")
    assert memory.verdict == "met"
    assert Row("a", 1.0, "ms", "b", 2.0, HOW).verdict == ""


@pytest.mark.parametrize("figures", [(None, 200.0), (300.0, None), (float("inf"), 200.0),
                                     (0.0, 200.0)])
def test_a_side_not_measured_is_a_failure_not_a_row(figures) -> None:
    with pytest.raises(BenchFailure, match="not measured"):
        Row("p99", figures[0], "ms", "nchan p99", figures[1], HOW, "ratio <= 1.2")


def test_a_row_says_how_it_was_measured() -> None:
    with pytest.raises(ValueError, match="how it was measured"):
        Row("a", 1.0, "ms", "b", 2.0, "")


def test_goal_must_be_readable() -> None:
    with pytest.raises(ValueError, match="goal"):
        Row("a", 1.0, "ms", "b", 2.0, HOW, "faster than nginx")


def test_markdown_shows_figures_ratio_verdict_and_method() -> None:
    table = markdown(
        [Row("feedserver 304", 4321.0, "req/s", "nginx 304", 12345.0, HOW, "ratio >= 0.35",
             "a|b")]
    )
    lines = table.splitlines()
    assert len(lines) == 3
    assert "| feedserver 304 | 4,321 req/s | nginx 304 | 12,345 req/s | 0.35 |" in lines[2]
    assert f"ratio >= 0.35 (met) | {HOW} |" in lines[2]
    assert lines[2].endswith("| a/b |")


def test_nearest_rank_percentile() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([], 99) is None


def test_results_keep_the_header_on_top_and_newest_run_first(tmp_path) -> None:
    path = tmp_path / "RESULTS.md"
    for minute, figure in ((1, "first"), (2, "second")):
        run = results.entry(
            f"| {figure} |",
            when=datetime(2026, 11, 28, 17, minute, tzinfo=UTC),
            command="python -m bench",
            seconds=1.0,
        )
        results.prepend(run, path)
    text = path.read_text()
    assert text.startswith(results.HEADER)
    assert text.count("# Benchmark results") == 1
    assert text.index("17:02 UTC") < text.index("17:01 UTC")
    assert text.index("| second |") < text.index("| first |")


def _step(clients: int, p99: float, failed: int = 0, missing: int = 0) -> Step:
    return Step(
        clients,
        failed=failed,
        kib_per_connection=12.0,
        p50_ms=p99 / 2,
        p99_ms=p99,
        last_ms=p99 + 1,
        missing=missing,
    )


def test_push_rows_put_feedserver_beside_nchan_per_client_count() -> None:
    table = push.rows(
        [_step(1000, 30.0), _step(10000, 600.0)], [_step(1000, 25.0), _step(10000, 250.0)], 5
    )
    by_name = {row.name: row for row in table}
    p99 = by_name["publish → client p99, 10,000 SSE clients"]
    assert (p99.figure, p99.reference_figure, p99.verdict) == (600.0, 250.0, "missed")
    assert by_name["publish → last client, 10,000 SSE clients"].verdict == "met"
    assert "publish → client p50, 1,000 SSE clients" not in by_name
    assert by_name["memory per idle connection, 1,000 SSE clients"].verdict == "met"


@pytest.mark.parametrize("broken", [_step(1000, 30.0, failed=3), _step(1000, 30.0, missing=1)])
def test_clients_that_missed_a_publish_fail_the_run(broken) -> None:
    with pytest.raises(BenchFailure, match="1,000 clients"):
        push.rows([broken], [_step(1000, 25.0)], 5)
    with pytest.raises(BenchFailure, match="nchan"):
        push.rows([_step(1000, 25.0)], [broken], 5)
