"""Channel specifications in OCA queue_job's syntax: what each entry configures, and the
entry every refusal names."""

import engine_import  # noqa: F401  (before anything from job_worker)
import pytest

from job_worker.engine.channel_spec import (
    ChannelSpec,
    ChannelSpecError,
    parse_channel_specification,
)


def refusal(specification):
    """The error refusing ``specification``."""
    with pytest.raises(ChannelSpecError) as refused:
        parse_channel_specification(specification)
    return refused.value


# What entries configure


def test_the_documented_example_configures_capacity_throttle_and_sequential():
    channels = parse_channel_specification("root:4,root.sale:2:throttle=2,root.edi:1:sequential")
    assert channels == [
        ChannelSpec("root", capacity=4),
        ChannelSpec("root.sale", capacity=2, rate_limit=1, rate_period=2),
        ChannelSpec("root.edi", capacity=1, sequential=True),
    ]
    assert [channel.token for channel in channels] == [
        "root:4",
        "root.sale:2:throttle=2",
        "root.edi:1:sequential",
    ]


def test_ocas_simple_configure_example_reads_names_without_root_as_children_of_root():
    channels = parse_channel_specification("root:4,A:2:throttle=2,S:1:sequential")
    assert [channel.complete_name for channel in channels] == ["root", "root.A", "root.S"]
    assert channels[1].rate_limit == 1 and channels[1].rate_period == 2
    assert channels[2].sequential


def test_a_dotted_name_without_root_is_rooted_too():
    [channel] = parse_channel_specification("autosub.sub:2")
    assert channel.complete_name == "root.autosub.sub"
    assert channel.ancestor_names == ["root", "root.autosub"]
    assert (channel.name, channel.parent_name) == ("sub", "root.autosub")


def test_an_entry_without_capacity_has_capacity_one_as_in_oca():
    assert parse_channel_specification("root,sale") == [
        ChannelSpec("root", capacity=1),
        ChannelSpec("root.sale", capacity=1),
    ]


def test_capacity_zero_means_no_limit_of_its_own():
    [root] = parse_channel_specification("root:0")
    assert root.capacity == 0
    assert root.configured_values()["capacity"] == 0


def test_whitespace_line_breaks_and_empty_entries_are_ignored_as_in_oca():
    specification = (
        "\n  root : 4 ,\n ,\n  root.sale : 2 : throttle = 3\n\n  root.edi:1:sequential,\n"
    )
    assert parse_channel_specification(specification) == [
        ChannelSpec("root", capacity=4),
        ChannelSpec("root.sale", capacity=2, rate_limit=1, rate_period=3),
        ChannelSpec("root.edi", capacity=1, sequential=True),
    ]


def test_an_empty_specification_configures_nothing():
    assert parse_channel_specification(" , \n") == []


def test_rate_allows_several_starts_per_period():
    [channel] = parse_channel_specification("root.api:0:rate=10/60")
    assert (channel.rate_limit, channel.rate_period) == (10, 60)
    assert channel.configured_values() == {
        "capacity": 0,
        "sequential": False,
        "rate_limit": 10,
        "rate_period": 60,
    }


def test_throttle_zero_is_no_rate_limit():
    [channel] = parse_channel_specification("root.sale:2:throttle=0")
    assert channel.rate_limit == 0
    assert "rate_period" not in channel.configured_values()


def test_paused_and_removal_interval_are_set_only_when_given():
    paused, plain = parse_channel_specification("root.sale:2:paused:removal_interval=7,root.edi:1")
    assert paused.configured_values() == {
        "capacity": 2,
        "sequential": False,
        "rate_limit": 0,
        "paused": True,
        "removal_interval": 7,
    }
    # An entry states capacity, sequential and rate limit entirely (an option left out is
    # off, as in OCA), but never resumes a channel or changes its removal interval.
    assert plain.configured_values() == {"capacity": 1, "sequential": False, "rate_limit": 0}


def test_options_combine_in_any_order():
    [channel] = parse_channel_specification("root.edi:1:paused:rate=5/10:sequential")
    assert channel == ChannelSpec(
        "root.edi", capacity=1, sequential=True, rate_limit=5, rate_period=10, paused=True
    )


# What is refused, and how the refusal reads


def test_a_bad_capacity_is_refused_naming_the_specification_the_entry_and_the_reason():
    error = refusal("root:4,root.sale:x")
    assert str(error) == (
        "channel specification 'root:4,root.sale:x': 'root.sale:x': "
        "capacity 'x' is not a whole number"
    )
    assert (error.token, error.reason) == ("root.sale:x", "capacity 'x' is not a whole number")


@pytest.mark.parametrize(
    ("specification", "token", "reason"),
    [
        ("root:4,:2", ":2", "the channel name is empty"),
        ("root:4,root..sale:2", "root..sale:2", "empty part between dots"),
        ("root.sale.:2", "root.sale.:2", "empty part between dots"),
        ("root. sale:2", "root. sale:2", "spaces around a dot"),
        (".sale:2", ".sale:2", "starts with a dot"),
        ("root:-1", "root:-1", "capacity '-1' is not a whole number"),
        ("root:2.5", "root:2.5", "capacity '2.5' is not a whole number"),
        ("root:", "root:", "capacity is missing"),
        ("root:99999999999", "root:99999999999", "out of range"),
        ("root:4:sequentail", "root:4:sequentail", "unknown option 'sequentail'"),
        ("root:4:", "root:4:", "an option is empty"),
        ("sale:2:throttle=soon", "sale:2:throttle=soon", "throttle 'soon' is not a whole number"),
        ("sale:2:throttle", "sale:2:throttle", "throttle is missing"),
        ("sale:2:rate=10", "sale:2:rate=10", "rate '10' is not <starts>/<seconds>"),
        ("sale:2:rate=0/60", "sale:2:rate=0/60", "rate starts '0' is out of range"),
        ("sale:2:rate=5/0", "sale:2:rate=5/0", "rate period '0' is out of range"),
        ("sale:2:rate=5/x", "sale:2:rate=5/x", "rate period 'x' is not a whole number"),
        ("sale:2:removal_interval=-3", "sale:2:removal_interval=-3", "removal_interval '-3'"),
        ("sale:1:sequential=0", "sale:1:sequential=0", "option 'sequential' takes no value"),
        ("sale:1:paused=yes", "sale:1:paused=yes", "option 'paused' takes no value"),
        ("sale:1:paused:paused", "sale:1:paused:paused", "option 'paused' is given twice"),
        ("sale:2:throttle=1:rate=5/10", "sale:2:throttle=1:rate=5/10", "keep one"),
        ("edi:2:sequential", "edi:2:sequential", "its capacity must be 1, not 2"),
        ("edi:0:sequential", "edi:0:sequential", "its capacity must be 1, not 0"),
        ("edi:sequential", "edi:sequential", "capacity 'sequential' is not a whole number"),
        ("root.sale:2,sale:3", "sale:3", "root.sale is already configured by 'root.sale:2'"),
        ("root:4,root:2", "root:2", "root is already configured by 'root:4'"),
    ],
)
def test_malformed_entries_are_refused_by_name(specification, token, reason):
    error = refusal(specification)
    assert error.token == token
    assert reason in error.reason
    assert repr(specification) in str(error)


def test_the_first_bad_entry_is_named_and_nothing_is_returned():
    error = refusal("root:4,root.sale:2,root.edi:two,root.api:x")
    assert error.token == "root.edi:two"


def test_a_sequential_refusal_says_how_to_write_it():
    assert "write root.edi:1:sequential" in refusal("root.edi:3:sequential").reason


def test_an_unknown_option_lists_the_known_ones():
    reason = refusal("root.sale:2:k=v").reason
    for option in ("sequential", "paused", "throttle=<seconds>", "rate=<starts>/<seconds>"):
        assert option in reason
