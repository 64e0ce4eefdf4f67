"""Strategies never draw nothing silently, and a failing property says what differed.

Issue 11, items 7-9: ``dialplan_calls`` drew only empty lists for a plan
with fewer than three phones (the user's property passed having tested
nothing); a wrong dialect, a route key unlike its phone's number or a queue
in an AMI 1 plan ended in a bare KeyError or a health-check failure; the
hypothesis profiles existed only in the project's conftest; the expected
records lacked the dialled number; a failing property printed 800+ lines.
"""
from __future__ import annotations

import os
import subprocess
import sys

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cacofonisk.testing.compare import assert_calls_reported, call_differences
from cacofonisk.testing.recorder import replay
from cacofonisk.testing.strategies import (Dialplan, Forward, Phone, Queue, RingGroup,
                                           dialplan_calls, interleavings, scenarios,
                                           with_noise)

TWO_PHONES = Dialplan(routes={"201": Phone("201"), "202": Phone("202")})


@given(data=st.data())
def test_dialplan_calls_of_a_two_phone_plan_always_draw_at_least_one_call(data):
    calls = data.draw(dialplan_calls(TWO_PHONES, "ami2"))
    assert calls, "drew nothing"
    assert {c.numbers[0] for c in calls} <= {"201", "202"}


@given(data=st.data())
def test_dialplan_calls_of_a_ring_group_plan_always_draw_at_least_one_call(data):
    plan = Dialplan(routes={"201": Phone("201"), "401": RingGroup(["202", "203"])})
    calls = data.draw(dialplan_calls(plan, "ami1"))
    assert calls, "drew nothing"


@pytest.mark.parametrize("plan, words", [
    (Dialplan(routes={"201": Phone("201")}), ["1 phone(s): 201", "add a Phone route"]),
    (Dialplan(routes={}), ["0 phone(s)"]),
    (Dialplan(routes={"401": RingGroup(["202"])}), ["no call can be drawn"]),
])
def test_a_plan_no_call_can_be_drawn_from_is_refused_saying_what_it_lacks(plan, words):
    with pytest.raises(ValueError) as info:
        dialplan_calls(plan, "ami2")
    for word in words:
        assert word in str(info.value)


def test_a_wrong_dialect_name_is_refused_with_the_valid_ones():
    with pytest.raises(ValueError, match="dialect 'ami3': give 'ami2'.*or 'ami1'"):
        dialplan_calls(TWO_PHONES, "ami3")


def test_a_route_key_unlike_its_phones_number_is_refused():
    with pytest.raises(ValueError, match=r"route '202': Phone\('203'\)"):
        Dialplan(routes={"202": Phone("203")})


@pytest.mark.parametrize("route", [Queue(["202", "203"]), Forward("202")])
def test_a_queue_or_forward_in_an_ami1_plan_is_refused_naming_for_dialect(route):
    plan = Dialplan(routes={"201": Phone("201"), "202": Phone("202"), "501": route})
    with pytest.raises(ValueError, match=r"501 \(\w+\).*for_dialect\('ami1'\)"):
        dialplan_calls(plan, "ami1")
    assert list(plan.for_dialect("ami1").routes) == ["201", "202"]
    dialplan_calls(plan.for_dialect("ami1"), "ami1")  # accepted


@given(data=st.data())
def test_scenarios_of_an_unknown_or_unsimulated_flow_raise_a_clear_error(data):
    with pytest.raises(ValueError, match="unknown flow.*'nope'"):
        data.draw(scenarios("ami2", ["nope"]))
    with pytest.raises(ValueError, match="not simulated for ami1|none of the flows"):
        data.draw(scenarios("ami1", ["queue"]))


@pytest.mark.parametrize("profile, examples", [("deep", 2000), ("dev", 20), ("ci", 60)])
def test_importing_the_strategies_loads_the_profile_hypothesis_profile_names(profile, examples):
    """As in a user's project: no conftest of ours, only the library."""
    code = ("import cacofonisk.testing.strategies; from hypothesis import settings; "
            "print(settings.default.max_examples)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "HYPOTHESIS_PROFILE": profile}, cwd="/",
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(examples)


def test_a_misspelled_profile_name_is_a_warning_on_import_listing_the_profiles():
    code = "import cacofonisk.testing.strategies"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "HYPOTHESIS_PROFILE": "deeep"}, cwd="/",
                          timeout=120)
    assert done.returncode == 0
    assert "'deeep' is not a hypothesis profile" in done.stderr
    assert "ci, dev, deep" in done.stderr


def test_a_misspelled_profile_name_fails_the_projects_own_suite(monkeypatch):
    from cacofonisk.testing import profiles
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "deeep")
    with pytest.raises(ValueError, match="'deeep' is not a hypothesis profile"):
        profiles.load_from_environment(default="ci")


PLAN = Dialplan(routes={"201": Phone("201"), "202": Phone("202"), "203": Phone("203"),
                        "204": Phone("204"), "401": RingGroup(["203", "204"])})


def test_expected_records_carry_the_dialled_number():
    @settings(max_examples=30, database=None)
    @given(data=st.data())
    def check(data):
        for call in data.draw(dialplan_calls(PLAN, "ami2")):
            hangups = [e for e in call.expected if e.hook == "on_hangup"]
            assert hangups and all(e.to_number for e in hangups)
            first = next(e for e in call.expected if e.hook == "on_b_dial")
            assert first.to_number in PLAN.routes  # the extension the caller dialled
    check()


def test_a_failing_dialplan_property_says_first_which_call_differed_in_a_few_lines():
    @settings(max_examples=30, database=None, derandomize=True)
    @given(data=st.data())
    def prop(data):
        calls = data.draw(dialplan_calls(PLAN, "ami2", max_calls=3))
        events = data.draw(with_noise(data.draw(interleavings(calls))))
        # a tracker that gets the dialled number of every hangup wrong
        reported = [attrs.evolve(e, to_number="999") if e.hook == "on_hangup" else e
                    for e in replay(events)[0].expects()]
        assert_calls_reported(calls, reported)

    with pytest.raises(AssertionError) as info:
        prop()
    message = str(info.value).splitlines()
    assert message[0].endswith("call(s) reported differently:")
    assert message[1].startswith("call ") and "calls" in message[1]  # its story
    assert any("to_number: expected" in line and "'999'" in line for line in message)
    everything = message + list(getattr(info.value, "__notes__", []))
    assert len("\n".join(everything).splitlines()) < 40, "\n".join(everything)


def test_call_differences_are_empty_when_every_call_is_reported_as_expected():
    from cacofonisk.testing.scenarios import build
    from cacofonisk.testing.sim_base import Ids
    ids = Ids()
    calls = [build("answered", ids=ids), build("busy", ids=ids, numbers=["203", "204"])]
    events = [e for call in calls for e in call.events]
    assert call_differences(calls, replay(events)[0].expects()) == []
