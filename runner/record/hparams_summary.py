"""A run's entry in TensorBoard's HPARAMS tab, as the hparams plugin reads it.

Written by hand (tensorboard's own protos, no TensorFlow) rather than with
torch.utils.tensorboard.summary.hparams, for three reasons:
- torch's writes an `experiment` record into every run; the plugin then takes one run's at
  random as the column list and stops computing which columns differ (all "not differing").
  With session records only, the plugin builds the columns from all runs: the union of their
  keys, each with a type, `differs`, and a discrete domain for strings and booleans.
- torch's tests for int before bool, so true/false arrived as 1.0/0.0.
- the trial id (session group) is the run's readable name first, not a folder path that
  the table cuts off.
"""

import time

from tensorboard.compat.proto import summary_pb2
from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2


def session_start(hparams: dict, trial_id: str) -> summary_pb2.Summary:
    """hparams: {name: bool | int | float | str}. TensorBoard has no integer type: an int is a number."""
    info = plugin_data_pb2.SessionStartInfo(group_name=trial_id, start_time_secs=time.time())
    for name, value in hparams.items():
        if isinstance(value, bool):
            info.hparams[name].bool_value = value
        elif isinstance(value, (int, float)):
            info.hparams[name].number_value = value
        else:
            info.hparams[name].string_value = str(value)
    return _summary(metadata.SESSION_START_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_start_info=info))


def session_end(finished: bool) -> summary_pb2.Summary:
    """finished: results.json's status; an interrupted or preempted run (to resume) is "unknown"."""
    status = api_pb2.STATUS_SUCCESS if finished else api_pb2.STATUS_UNKNOWN
    info = plugin_data_pb2.SessionEndInfo(status=status, end_time_secs=time.time())
    return _summary(metadata.SESSION_END_INFO_TAG, plugin_data_pb2.HParamsPluginData(session_end_info=info))


def _summary(tag: str, data: plugin_data_pb2.HParamsPluginData) -> summary_pb2.Summary:
    summary = summary_pb2.Summary()
    summary.value.add(tag=tag, metadata=metadata.create_summary_metadata(data), tensor=metadata.NULL_TENSOR)
    return summary
