"""test_soak_verdict.py -- bots/soak's verdict and table on made-up samples, and the
Prometheus parsing of bots/gateway_metrics.py it relies on. Needs no build.
Run with /usr/bin/python3.
"""
import importlib.machinery
import importlib.util
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BOTS = os.path.join(HERE, "..", "..", "bots")
sys.path.insert(0, BOTS)
from gateway_metrics import parse_metrics, total  # noqa: E402
from gateway_process import flag_value  # noqa: E402


def load_soak():
    loader = importlib.machinery.SourceFileLoader("soak", os.path.join(BOTS, "soak"))
    spec = importlib.util.spec_from_loader("soak", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


soak = load_soak()


def sample(n, rss, fds, exit_code=0, **metrics):
    s = {"round": n, "rss_kib": rss, "fds": fds, "clients": 0, "rooms": 0, "swarm_exit": exit_code}
    s.update({key: None for key, _, _ in soak.METRICS})
    s.update(metrics)
    return s


class VerdictTest(unittest.TestCase):
    def test_flat_rounds_pass(self):
        rounds = [sample(1, 9000, 20), sample(2, 9400, 20), sample(3, 9400, 20)]
        v = soak.verdict(rounds, 100, 3)
        self.assertEqual(v["rss_growth_kib"], 0)
        self.assertEqual(v["fd_growth"], 0)
        self.assertEqual(v["failures"], [])

    def test_rss_growth_is_from_round_two_and_fails_over_the_limit(self):
        rounds = [sample(1, 5000, 20), sample(2, 9000, 20), sample(3, 9300, 20), sample(4, 9600, 20)]
        self.assertEqual(soak.verdict(rounds, 600, 4)["failures"], [])
        v = soak.verdict(rounds, 599, 4)
        self.assertEqual(v["rss_growth_kib"], 600)
        self.assertEqual(len(v["failures"]), 1)
        self.assertIn("RSS grew 600 KiB", v["failures"][0])

    def test_without_a_limit_growth_is_only_reported(self):
        rounds = [sample(1, 9000, 20), sample(2, 9000, 20), sample(3, 90000, 20)]
        v = soak.verdict(rounds, None, 3)
        self.assertEqual(v["rss_growth_kib"], 81000)
        self.assertEqual(v["failures"], [])

    def test_any_fd_growth_fails(self):
        v = soak.verdict([sample(1, 9000, 20), sample(2, 9000, 20), sample(3, 9000, 21)], None, 3)
        self.assertEqual(v["fd_growth"], 1)
        self.assertEqual(len(v["failures"]), 1)
        self.assertIn("open fds", v["failures"][0])

    def test_a_failed_swarm_a_missing_round_and_the_gateway_status_fail(self):
        rounds = [sample(1, 9000, 20), sample(2, 9000, 20, exit_code=3)]
        v = soak.verdict(rounds, None, 3, gateway_exit=-9)
        self.assertEqual(len(v["failures"]), 3)
        self.assertIn("round 2: 3", v["failures"][0])
        self.assertIn("2 of 3 rounds", v["failures"][1])
        self.assertIn("-9", v["failures"][2])

    def test_one_round_has_no_rss_growth(self):
        v = soak.verdict([sample(1, 9000, 20)], 0, 1)
        self.assertIsNone(v["rss_growth_kib"])
        self.assertEqual(v["failures"], [])

    def test_missing_metrics_show_as_dashes(self):
        line = soak.row("2", sample(2, 12345, 20, rooms_gauge=0, history_bytes=2048))
        cells = [c.strip() for c in line.strip("|").split("|")]
        self.assertEqual(len(cells), soak.COLUMNS.count("|") - 1)
        self.assertEqual(cells[:7], ["2", "12,345", "20", "0", "0", "0", "2"])
        self.assertEqual(cells[7:10], ["-", "-", "-"])

    def test_settle_follows_the_room_ttl(self):
        self.assertEqual(soak.default_settle_s([]), 2.0)
        self.assertEqual(soak.default_settle_s(["--workers", "1", "--room-ttl-s", "4"]), 6.0)
        self.assertEqual(soak.default_settle_s(["--room-ttl-s=8"]), 11.0)


class MetricsTest(unittest.TestCase):
    TEXT = """# HELP tidegate_rooms Rooms
# TYPE tidegate_rooms gauge
tidegate_rooms 3
tidegate_room_log_bytes{worker="0"} 100
tidegate_room_log_bytes{worker="1"} 250
tidegate_batch_bytes_bucket{le="64"} 7
"""

    def test_families_keep_each_label_set(self):
        m = parse_metrics(self.TEXT)
        self.assertEqual(m["tidegate_rooms"], [3.0])
        self.assertEqual(m["tidegate_room_log_bytes"], [100.0, 250.0])
        self.assertEqual(total(m, "tidegate_room_log_bytes"), 350.0)
        self.assertEqual(m["tidegate_batch_bytes_bucket"], [7.0])
        self.assertIsNone(total(m, "tidegate_history_bytes"))

    def test_flag_value_takes_the_last(self):
        self.assertEqual(flag_value(["--a", "1", "--a=2"], "--a"), "2")
        self.assertEqual(flag_value(["--ab", "1"], "--a", "x"), "x")


if __name__ == "__main__":
    unittest.main()
