"""Runs the simulator's own smoke tests (tests/sim/test_sim.py) as part of the integration run."""
import os
import sys
import unittest

from harness import ROOT

sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))
import test_sim  # noqa: E402

# Every TestCase of test_sim.py, found by type so that a new class there is never left out.
SIM_CASES = {name: obj for name, obj in vars(test_sim).items()
             if isinstance(obj, type) and issubclass(obj, unittest.TestCase)}
globals().update(SIM_CASES)


class SimSuiteTest(unittest.TestCase):
    def test_every_sim_case_is_collected(self):
        expected = {"IncidentTest", "FaultTest", "ScenarioSwitchTest", "BenchTest", "SlowAuthAndTlsTest",
                    "CalendarTest"}
        self.assertLessEqual(expected, set(SIM_CASES))
        loaded = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
        count = loaded.countTestCases()
        own = unittest.defaultTestLoader.loadTestsFromTestCase(SimSuiteTest).countTestCases()
        self.assertGreaterEqual(count - own, 30)


if __name__ == "__main__":
    unittest.main()
